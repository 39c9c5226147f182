package events

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorrelationGoldenRoundTrip parses every correlation id in the golden files and renders it
// back byte for byte.
func TestCorrelationGoldenRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if s, ok := x.(string); ok && (k == ExtCorrelationID || k == "correlation_id") {
						seen++
						c, err := ParseCorrelation(s)
						if err != nil {
							t.Errorf("%s: ParseCorrelation(%q): %v", name, s, err)
						} else if c.String() != s {
							t.Errorf("%s: %q renders back as %q", name, s, c.String())
						}
						continue
					}
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		walk(doc)
	}
	if seen == 0 {
		t.Fatal("no correlation id in the golden files")
	}
}

func TestCorrelation(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Correlation
		frameID string
	}{
		{"edge-1/s/1", Correlation{"edge-1", "s", "1"}, "1"},
		{"edge-1/0193a000-0000-7000-8000-000000000001/f/with/slashes", Correlation{"edge-1", "0193a000-0000-7000-8000-000000000001", "f/with/slashes"}, "f/with/slashes"},
		{"e/c/~0193a000", Correlation{"e", "c", "~0193a000"}, ""},
		{"e/c/", Correlation{"e", "c", ""}, ""},
		{"//", Correlation{}, ""},
		{"e/c/ü ✓", Correlation{"e", "c", "ü ✓"}, "ü ✓"},
	} {
		c, err := ParseCorrelation(tc.in)
		if err != nil || c != tc.want {
			t.Errorf("ParseCorrelation(%q) = %+v, %v; want %+v", tc.in, c, err, tc.want)
			continue
		}
		if c.String() != tc.in {
			t.Errorf("%q renders back as %q", tc.in, c.String())
		}
		if c.FrameID() != tc.frameID {
			t.Errorf("%q: FrameID() = %q, want %q", tc.in, c.FrameID(), tc.frameID)
		}
	}
	anon := Correlation{Edge: "e", Conn: "c", Frame: AnonymousFrame("x1")}
	if anon.String() != "e/c/~x1" || anon.FrameID() != "" {
		t.Errorf("anonymous frame: %q, FrameID %q", anon.String(), anon.FrameID())
	}
}

func TestCorrelationBadInputs(t *testing.T) {
	for _, in := range []string{"", "edge-1", "edge-1/", "edge-1/s", "/", "/s", "edge-1\\s\\1", "edge-1 s 1"} {
		if c, err := ParseCorrelation(in); !errors.Is(err, ErrBadCorrelation) || c != (Correlation{}) {
			t.Errorf("ParseCorrelation(%q) = %+v, %v; want ErrBadCorrelation", in, c, err)
		}
	}
}

// FuzzParseCorrelation: any text with two "/" parses, exactly as the strings.SplitN(s, "/", 3) the
// edge and realtime used before, and renders back unchanged; anything else is refused.
func FuzzParseCorrelation(f *testing.F) {
	for _, s := range []string{"edge-1/s/1", "e/c/~x", "a/b", "", "//", "a/b/c/d", "\xff/\x00/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCorrelation(s)
		parts := strings.SplitN(s, "/", 3)
		if len(parts) != 3 {
			if err == nil {
				t.Fatalf("ParseCorrelation(%q) accepted text with fewer than two /", s)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseCorrelation(%q): %v", s, err)
		}
		if c.Edge != parts[0] || c.Conn != parts[1] || c.Frame != parts[2] {
			t.Fatalf("ParseCorrelation(%q) = %+v, SplitN gives %q", s, c, parts)
		}
		if c.String() != s {
			t.Fatalf("%q renders back as %q", s, c.String())
		}
	})
}
