package polltest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/polltest"
)

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	start := time.Now()
	polltest.Until(t, time.Second, "the third ask", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("asked %d times, want 3", n)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("took %v", took)
	}
}

// recorder is a testing.TB whose Fatalf records the failure and stops the goroutine, as t's does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r)
}

func TestUntilFailsNamingWhatItWaitedFor(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != r {
				t.Fatalf("Until did not fail: %v", p)
			}
		}()
		polltest.Until(r, 20*time.Millisecond, "the impossible", func() bool { return false })
	}()
	if !strings.Contains(r.msg, "the impossible") {
		t.Fatalf("failure %q does not name what it waited for", r.msg)
	}
}
