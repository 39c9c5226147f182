// Package envconf reads typed settings from a process's environment. A main passes os.Getenv; every
// other package takes the typed config a main filled, so tests pass a map instead.
//
// A Reader never stops at the first bad value: it records each malformed setting (named by its key)
// and returns the default in its place, so a command can report every mistake at once, and decide
// which mistakes matter to which part of the process (see Reader.Err and Sub).
package envconf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reader reads settings through getenv. It is not safe for concurrent use (mains read once, at start).
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New returns a Reader over getenv (os.Getenv in a main).
func New(getenv func(string) string) *Reader {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &Reader{getenv: getenv}
}

// Sub returns a Reader over the same environment whose errors are its own: a command reads the
// settings of one part (one function of several) with it, and fails only that part on them.
func (r *Reader) Sub() *Reader { return &Reader{getenv: r.getenv} }

// Err joins every malformed setting met so far (nil when all parsed).
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Lookup returns the raw value of key ("" when unset).
func (r *Reader) Lookup(key string) string { return r.getenv(key) }

// String returns key's value, or def when unset.
func (r *Reader) String(key, def string) string {
	if v := r.getenv(key); v != "" {
		return v
	}
	return def
}

// List returns key's comma list with blanks trimmed and empty items dropped; def when unset.
func (r *Reader) List(key string, def ...string) []string {
	v := r.getenv(key)
	if v == "" {
		return def
	}
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Bool returns key as true|false (also 1|0, any case); def when unset.
func (r *Reader) Bool(key string, def bool) bool {
	switch v := strings.ToLower(strings.TrimSpace(r.getenv(key))); v {
	case "":
		return def
	case "true", "1":
		return true
	case "false", "0":
		return false
	default:
		r.fail(key, v, "true or false")
		return def
	}
}

// Int returns key as a decimal integer; def when unset or malformed (recorded).
func (r *Reader) Int(key string, def int) int {
	return parse(r, key, def, "an integer", func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil
	})
}

// PositiveInt is Int for settings that must be > 0.
func (r *Reader) PositiveInt(key string, def int) int {
	return parse(r, key, def, "a positive integer", func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && n > 0
	})
}

// Duration returns key as a Go duration ("1.5s", "10m"); def when unset or malformed (recorded).
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	return parse(r, key, def, "a duration", func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil
	})
}

// PositiveDuration is Duration for settings that must be > 0.
func (r *Reader) PositiveDuration(key string, def time.Duration) time.Duration {
	return parse(r, key, def, "a positive duration", func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil && d > 0
	})
}

// Off reports whether key is set to "off", the word every setting that can be disabled takes.
func (r *Reader) Off(key string) bool { return r.getenv(key) == "off" }

// Func hands key's value to fn when it is set, and records fn's error under key.
func (r *Reader) Func(key string, fn func(v string) error) {
	if v := r.getenv(key); v != "" {
		if err := fn(v); err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", key, err))
		}
	}
}

func (r *Reader) fail(key, v, want string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %q is not %s", key, v, want))
}

// parse returns def for an unset key, and def with a recorded error for a value conv refuses.
func parse[T any](r *Reader, key string, def T, want string, conv func(string) (T, bool)) T {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	out, ok := conv(v)
	if !ok {
		r.fail(key, v, want)
		return def
	}
	return out
}
