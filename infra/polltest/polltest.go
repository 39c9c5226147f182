// Package polltest lets a test wait for a condition instead of sleeping a guessed time (the model:
// nats-server's checkFor). Every Go module of the workspace but the client ones (e2e, load) may use it.
package polltest

import (
	"testing"
	"time"
)

// Interval is how often Until asks again: short enough that a test waits little past the moment its
// condition holds, long enough that a condition reading a database does not load it.
const Interval = 5 * time.Millisecond

// Until asks cond every Interval until it holds, and fails t (naming what it waited for) if it does
// not within d. cond runs on the test's goroutine.
func Until(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(Interval)
	}
}
