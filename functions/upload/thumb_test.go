package upload

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

func TestThumbnail(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 300, 1000))
	for i := range src.Pix {
		src.Pix[i] = uint8(i)
	}
	var jb, gb bytes.Buffer
	if err := jpeg.Encode(&jb, src, nil); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 512, 512), color.Palette{color.Black, color.White})
	if err := gif.Encode(&gb, pal, nil); err != nil {
		t.Fatal(err)
	}
	// A 1x1 lossless WebP.
	wb, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	for _, c := range []struct {
		ct, out string
		data    []byte
		w, h    int
	}{
		{"image/jpeg", "image/jpeg", jb.Bytes(), 76, 256},
		{"image/gif", "image/png", gb.Bytes(), 256, 256},
		{"image/webp", "image/jpeg", wb, 1, 1},
	} {
		data, ct, err := thumbnail(c.data, c.ct, 256, 50_000_000)
		if err != nil || ct != c.out {
			t.Fatalf("%s: %s %v", c.ct, ct, err)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: decode thumbnail: %v", c.ct, err)
		}
		if b := img.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
			t.Fatalf("%s: thumbnail %v, want %dx%d", c.ct, b, c.w, c.h)
		}
	}
}

// A PNG whose header claims 100000x100000 pixels is refused before any pixel is allocated.
func TestThumbnailRefusesDecompressionBombs(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	// IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC follows the 13 data bytes.
	binary.BigEndian.PutUint32(p[16:], 100_000)
	binary.BigEndian.PutUint32(p[20:], 100_000)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	if _, _, err := thumbnail(p, "image/png", 256, 50_000_000); !errors.Is(err, errTooManyPixels) {
		t.Fatalf("bomb: %v", err)
	}
	if _, _, err := thumbnail([]byte("\x89PNG\r\n\x1a\nnot really"), "image/png", 256, 50_000_000); err == nil {
		t.Fatal("corrupt png thumbnailed")
	}
}
