package upload

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// errTooManyPixels refuses a decompression bomb: a small file that declares huge dimensions.
var errTooManyPixels = errors.New("image has too many pixels to thumbnail")

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecFor returns the decoder of a canonical image type. The declared (and sniffed) type picks it,
// never the registry's guess, so a file is only ever decoded as what it was verified to be.
func codecFor(ct string) (codec, bool) {
	switch ct {
	case "image/jpeg":
		return codec{jpeg.DecodeConfig, jpeg.Decode}, true
	case "image/png":
		return codec{png.DecodeConfig, png.Decode}, true
	case "image/gif":
		// gif.Decode stops after the first frame, so an animation costs one frame.
		return codec{gif.DecodeConfig, gif.Decode}, true
	case "image/webp":
		return codec{webp.DecodeConfig, webp.Decode}, true
	}
	return codec{}, false
}

// thumbnail scales src (the whole image file, of canonical type ct) to fit maxSide x maxSide and
// encodes it: PNG for PNG and GIF sources (keeps transparency), JPEG otherwise. It reads the header
// first and refuses images above maxPixels before allocating anything for them.
func thumbnail(src []byte, ct string, maxSide, maxPixels int) ([]byte, string, error) {
	c, ok := codecFor(ct)
	if !ok {
		return nil, "", fmt.Errorf("no decoder for %s", ct)
	}
	cfg, err := c.config(bytes.NewReader(src))
	if err != nil {
		return nil, "", fmt.Errorf("decode config: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", errors.New("image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, "", fmt.Errorf("%dx%d: %w", cfg.Width, cfg.Height, errTooManyPixels)
	}
	img, err := c.decode(bytes.NewReader(src))
	if err != nil {
		return nil, "", fmt.Errorf("decode: %w", err)
	}
	b := img.Bounds()
	w, h := fit(b.Dx(), b.Dy(), maxSide)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// BiLinear is a real resampling kernel (it averages the source pixels each output pixel covers),
	// unlike ApproxBiLinear, so large reductions do not alias; CatmullRom costs more for little gain here.
	draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var out bytes.Buffer
	if ct == "image/png" || ct == "image/gif" {
		if err := png.Encode(&out, dst); err != nil {
			return nil, "", fmt.Errorf("encode png: %w", err)
		}
		return out.Bytes(), "image/png", nil
	}
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, "", fmt.Errorf("encode jpeg: %w", err)
	}
	return out.Bytes(), "image/jpeg", nil
}

// fit scales w x h down to fit within side x side, keeping the aspect ratio; smaller images keep their size.
func fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, h*side/w)
	}
	return max(1, w*side/h), side
}
