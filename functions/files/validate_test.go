package files

import (
	"strings"
	"testing"
)

func TestValidFilename(t *testing.T) {
	for _, ok := range []string{"a", "photo 1.png", "résumé.pdf", "日本語.txt", strings.Repeat("é", 255), ".bashrc"} {
		if err := validFilename(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " ", ".", "..", "a/b", `a\b`, "a\x00b", "a\nb", "a\u202egpj.exe", "a\u2028b", "\xff.png",
		strings.Repeat("a", 256)} {
		if err := validFilename(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
