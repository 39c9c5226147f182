package run

import (
	"math"
	"testing"
	"time"

	"github.com/parley-im/parley/load/internal/report"
)

// series builds a sample every 10 s for d from f(t).
func series(d time.Duration, f func(t time.Duration) float64) []point {
	var ps []point
	for t := time.Duration(0); t <= d; t += 10 * time.Second {
		ps = append(ps, point{t, f(t)})
	}
	return ps
}

func TestFlatness(t *testing.T) {
	const tol = 10
	cases := []struct {
		name   string
		ps     []point
		flat   bool
		growth float64
		firstN int
		lastN  int
		note   bool
	}{
		// 10 min at 10 s: 6 samples in [0, 60 s), 6 in (540 s, 600 s].
		{"constant", series(10*time.Minute, func(time.Duration) float64 { return 100 }), true, 0, 6, 6, false},
		// Noise of ±5 % around 100 (95, 105, 95, ...) stays flat.
		{"noise", series(10*time.Minute, func(t time.Duration) float64 { return 100 + 5*math.Pow(-1, float64(t/(10*time.Second))) }), true, 0, 6, 6, false},
		// A steady leak: 100 -> 200 over 10 min; the window means are 104.17 (0-50 s) and 195.83
		// (550-600 s): +88 %.
		{"leak", series(10*time.Minute, func(t time.Duration) float64 { return 100 + 100*t.Minutes()/10 }), false, 88, 6, 6, false},
		// Exactly +10 % is still within 10 %; +12 % is not; a shrink counts like a growth.
		{"edge", series(10*time.Minute, func(t time.Duration) float64 { return step(t, 100, 110) }), true, 10, 6, 6, false},
		{"over", series(10*time.Minute, func(t time.Duration) float64 { return step(t, 100, 112) }), false, 12, 6, 6, false},
		{"shrink", series(10*time.Minute, func(t time.Duration) float64 { return step(t, 100, 85) }), false, -15, 6, 6, false},
		// Shorter than two windows: the windows share samples, nothing to compare.
		{"short", series(90*time.Second, func(time.Duration) float64 { return 100 }), false, 0, 6, 6, true},
		{"from zero", series(10*time.Minute, func(t time.Duration) float64 { return step(t, 0, 3) }), false, 0, 6, 6, true},
		{"zero", series(10*time.Minute, func(time.Duration) float64 { return 0 }), true, 0, 6, 6, false},
	}
	for _, c := range cases {
		f := flatness(c.ps, time.Minute, tol)
		if f.Flat != c.flat || f.GrowthPct != c.growth || f.FirstN != c.firstN || f.LastN != c.lastN || (f.Note != "") != c.note {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
	if f := flatness(nil, time.Minute, tol); f.Flat || f.Note == "" {
		t.Errorf("no samples: %+v", f)
	}
}

// step is lo for the first half of a 10-minute run, hi for the second.
func step(t time.Duration, lo, hi float64) float64 {
	if t < 5*time.Minute {
		return lo
	}
	return hi
}

// TestSamplerReport: a warm-up leaves the setup's transient out of the first window; a process
// without go_goroutines is named, and a restarted one is never flat.
func TestSamplerReport(t *testing.T) {
	// 200 MB for the first 30 s (argon2id of the setup), then 60 MB for good.
	rss := series(5*time.Minute, func(t time.Duration) float64 {
		return map[bool]float64{true: 200_000, false: 60_000}[t < 30*time.Second]
	})
	s := &sampler{n: len(rss), procs: map[string]*procSeries{
		"functions": {PID: 1, rss: rss, gor: series(5*time.Minute, func(time.Duration) float64 { return 90 })},
		"versitygw": {PID: 2, rss: series(5*time.Minute, func(time.Duration) float64 { return 38_000 })},
		"edge-0":    {PID: 3, Restarts: 1, rss: series(5*time.Minute, func(time.Duration) float64 { return 40_000 })},
	}}
	r := report.New("soak", "r", time.Now())
	s.report(r, 0, time.Minute, 10)
	if r.Metrics["rss_first_kb.functions"] != 130_000 || r.Metrics["not_flat"] != 2 { // functions, and edge-0's restart
		t.Fatalf("no warm-up: %v", r.Metrics)
	}
	r = report.New("soak", "r", time.Now())
	s.report(r, 30*time.Second, time.Minute, 10)
	if r.Metrics["rss_first_kb.functions"] != 60_000 || r.Metrics["rss_growth_pct.functions"] != 0 || r.Metrics["goroutines_last.functions"] != 90 || r.Metrics["not_flat"] != 1 {
		t.Fatalf("warm-up 30s: %v", r.Metrics)
	}
	if ne := r.Details["goroutines_not_exposed"].([]string); len(ne) != 2 || ne[0] != "edge-0" || ne[1] != "versitygw" {
		t.Fatalf("not exposed %v", ne)
	}
}
