package messaging

import (
	"strings"
	"testing"
	"unicode"
)

func TestSearchTextFoldsSimply(t *testing.T) {
	for in, want := range map[string]string{
		"Hello WORLD":  "hello world",
		"ΣΊΣΥΦΟΣ":      "σίσυφοσ", // final and medial sigma fold alike
		"σίσυφος":      "σίσυφοσ",
		"ſ and K":      "s and k", // long s, Kelvin sign: simple folding, not lower()
		"大家你好啊":        "大家你好啊",
		"100% a_b":     "100% a_b",
		"Straße ẞ":     "straße ß", // simple folding keeps ß one code point (full folding would give ss)
		"ＡＢＣ":          "ａｂｃ",
		"İstanbul ı I": "İstanbul ı i", // İ and ı have no simple folding: each stays itself
	} {
		if got := SearchText(in); got != want {
			t.Errorf("SearchText(%q) = %q, want %q", in, got, want)
		}
	}
	// Every rune of an orbit folds to the same representative, and folding keeps the length in
	// code points (so strpos over folded text finds exactly the case-insensitive substrings).
	for r := rune(0); r <= unicode.MaxRune; r++ {
		f := foldRune(r)
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if foldRune(o) != f {
				t.Fatalf("%U folds to %U but %U of its orbit to %U", r, f, o, foldRune(o))
			}
		}
		if r > 0x2FFFF {
			break
		}
	}
	if s := strings.Repeat("Ä", 10); len([]rune(SearchText(s))) != 10 {
		t.Fatal("folding changed the length")
	}
}
