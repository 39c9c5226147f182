package media

import "testing"

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"image/PNG": "image/png", "image/jpg": "image/jpeg", "text/plain; charset=utf-8": "text/plain",
		"audio/x-wav": "audio/wav", "audio/x-m4a": "audio/mp4", "video/quicktime": "video/quicktime",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	} {
		if got, ok := Canonical(in); !ok || got != want {
			t.Errorf("Canonical(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "text/html", "image/svg+xml", "application/x-msdownload", "application/octet-stream", "not a type"} {
		if _, ok := Canonical(in); ok {
			t.Errorf("Canonical(%q) accepted", in)
		}
	}
}

func TestMatches(t *testing.T) {
	ftypMP4 := "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
	cases := []struct {
		ct, head string
		want     bool
	}{
		{"image/jpeg", "\xFF\xD8\xFF\xE0\x00\x10JFIF", true},
		{"image/png", "\x89PNG\r\n\x1a\n\x00\x00", true},
		{"image/png", "\xFF\xD8\xFF\xE0", false},
		{"image/gif", "GIF89a\x01\x00", true},
		{"image/webp", "RIFF\x1a\x00\x00\x00WEBPVP8L", true},
		{"image/webp", "RIFF\x1a\x00\x00\x00WAVEfmt ", false},
		{"audio/wav", "RIFF\x1a\x00\x00\x00WAVEfmt ", true},
		{"audio/mpeg", "ID3\x04\x00\x00", true},
		{"audio/mpeg", "\xFF\xFB\x90\x00", true},
		{"audio/mpeg", "\xFF\xF1\x50\x80", false}, // ADTS (AAC), not MP3
		{"audio/aac", "\xFF\xF1\x50\x80", true},
		{"audio/ogg", "OggS\x00\x02", true},
		{"audio/mp4", ftypMP4, true},
		{"audio/webm", "\x1A\x45\xDF\xA3\x9f\x42\x86\x81\x01\x42\x82\x84webm", true},
		{"video/webm", "\x1A\x45\xDF\xA3\x9f\x42\x82\x88matroska", false},
		{"video/mp4", ftypMP4, true},
		{"video/mp4", "\x00\x00\x00\x08moov", false},
		{"video/quicktime", "\x00\x00\x00\x08wide\x00\x00", true},
		{"application/pdf", "%PDF-1.7\n", true},
		{"application/zip", "PK\x03\x04\x14\x00", true},
		{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK\x03\x04\x14\x00", true},
		{"application/msword", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00", true},
		{"application/msword", "PK\x03\x04", false},
		{"text/plain", "hello, wörld\n", true},
		{"text/plain", "MZ\x90\x00\x03\x00\x00\x00", false},
		{"text/plain", "\x89PNG\r\n\x1a\n", false},
		{"image/png", "", false},
	}
	for _, c := range cases {
		if got := Matches(c.ct, []byte(c.head)); got != c.want {
			t.Errorf("Matches(%s, %q) = %v, want %v", c.ct, c.head, got, c.want)
		}
	}
}
