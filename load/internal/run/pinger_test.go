package run

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestPingSchedule simulates 40 s of a 10 s ping interval in 50 ms steps: first pings spread over
// the first interval, every later gap within the jitter, a connection that dies does not hold up
// the rounds, and each round is reported once, in order, when its last ping went out.
func TestPingSchedule(t *testing.T) {
	const n, interval, rounds, step = 200, 10 * time.Second, 3, 50 * time.Millisecond
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := newPingSchedule(n, interval, rounds, t0, rand.New(rand.NewPCG(1, 2)))
	last := make([]time.Time, n)
	perSecond := make([]int, 10) // first pings by second of the first interval
	var done []int
	doneAt := map[int]time.Duration{}
	var buf []int
	for now := t0; now.Before(t0.Add(40 * time.Second)); now = now.Add(step) {
		buf = s.due(now, buf)
		for _, i := range buf {
			if i == 7 && !last[i].IsZero() {
				s.record(i, false, now) // dies after its first ping
				continue
			}
			if last[i].IsZero() {
				perSecond[int(now.Sub(t0)/time.Second)%10]++
			} else if gap := now.Sub(last[i]); gap < 9*time.Second || gap > 11*time.Second+step {
				t.Fatalf("conn %d: gap %s outside the ±10 %% jitter", i, gap)
			}
			last[i] = now
			for _, k := range s.record(i, true, now) {
				done = append(done, k)
				doneAt[k] = now.Sub(t0)
			}
		}
	}
	if !slices.Equal(done, []int{1, 2, 3}) {
		t.Fatalf("rounds reported %v", done)
	}
	for k := 1; k <= rounds; k++ {
		// Round k ends once the last connection sent its k-th ping: by k intervals plus the jitter.
		if lim := time.Duration(float64(k)*float64(interval)*(1+pingJitter)) + interval/10; doneAt[k] > lim {
			t.Errorf("round %d complete at %s, after %s", k, doneAt[k], lim)
		}
	}
	if doneAt[1] < 9*time.Second {
		t.Errorf("round 1 complete at %s: the first pings were not spread over the interval", doneAt[1])
	}
	for sec, c := range perSecond {
		if c < n/10/3 {
			t.Errorf("second %d of the first interval holds %d first pings of %d: not spread", sec, c, n)
		}
	}
	if s.sent[7] != rounds+1 {
		t.Errorf("the dead connection is still scheduled: %d", s.sent[7])
	}
}
