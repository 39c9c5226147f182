package envconf_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/envconf"
)

func reader(env map[string]string) *envconf.Reader {
	return envconf.New(func(k string) string { return env[k] })
}

func TestValuesAndDefaults(t *testing.T) {
	r := reader(map[string]string{"S": "x", "L": " a, ,b ,", "B1": "TRUE", "B0": "0", "I": "-3", "P": "7",
		"D": "1.5s", "PD": "2m", "O": "off"})
	if got := r.String("S", "d"); got != "x" {
		t.Errorf("String set = %q", got)
	}
	if got := r.String("unset", "d"); got != "d" {
		t.Errorf("String unset = %q", got)
	}
	if got := r.List("L"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("List = %q", got)
	}
	if got := r.List("unset", "z"); !slices.Equal(got, []string{"z"}) {
		t.Errorf("List unset = %q", got)
	}
	if !r.Bool("B1", false) || r.Bool("B0", true) || !r.Bool("unset", true) {
		t.Error("Bool")
	}
	if r.Int("I", 0) != -3 || r.Int("unset", 9) != 9 || r.PositiveInt("P", 1) != 7 {
		t.Error("Int")
	}
	if r.Duration("D", 0) != 1500*time.Millisecond || r.PositiveDuration("PD", 0) != 2*time.Minute ||
		r.Duration("unset", time.Hour) != time.Hour {
		t.Error("Duration")
	}
	if !r.Off("O") || r.Off("S") || r.Off("unset") {
		t.Error("Off")
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v, want nil", err)
	}
}

// Every malformed value is reported by its key, the default stands in for it, and no bad value
// hides another.
func TestMalformedValuesAreAllReported(t *testing.T) {
	r := reader(map[string]string{"B": "yes", "I": "12x", "P": "0", "D": "10", "PD": "-1s", "F": "bad"})
	if r.Bool("B", true) != true || r.Int("I", 4) != 4 || r.PositiveInt("P", 5) != 5 ||
		r.Duration("D", time.Second) != time.Second || r.PositiveDuration("PD", time.Minute) != time.Minute {
		t.Error("a malformed value did not give the default")
	}
	r.Func("F", func(v string) error { return errors.New("not a thing: " + v) })
	err := r.Err()
	if err == nil {
		t.Fatal("Err = nil")
	}
	for _, want := range []string{`B: "yes" is not true or false`, `I: "12x" is not an integer`,
		`P: "0" is not a positive integer`, `D: "10" is not a duration`, `PD: "-1s" is not a positive duration`,
		`F: not a thing: bad`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err = %v\nmissing %q", err, want)
		}
	}
}

// A Sub reader's mistakes are its own: the part of a command that reads with it fails alone.
func TestSubKeepsItsOwnErrors(t *testing.T) {
	r := reader(map[string]string{"A": "x", "B": "y"})
	sub := r.Sub()
	sub.Int("A", 0)
	if r.Err() != nil {
		t.Errorf("parent Err = %v after a sub's mistake", r.Err())
	}
	if sub.Err() == nil || !strings.Contains(sub.Err().Error(), "A:") {
		t.Errorf("sub Err = %v", sub.Err())
	}
	if sub.String("B", "") != "y" {
		t.Error("sub does not read the same environment")
	}
}

func TestNilGetenvReadsNothing(t *testing.T) {
	r := envconf.New(nil)
	if r.String("K", "d") != "d" || r.Err() != nil {
		t.Error("nil getenv")
	}
}
