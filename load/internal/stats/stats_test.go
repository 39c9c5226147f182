package stats

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}, {0, time.Millisecond}}
	for _, c := range cases {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
	// Small sets: p99 of 3 samples is the largest, never an interpolated value.
	three := []time.Duration{1, 2, 3}
	if Percentile(three, 99) != 3 || Percentile(three, 50) != 2 || Percentile(three, 34) != 2 || Percentile(three, 33) != 1 {
		t.Error("small set ranks")
	}
}

func TestSummarize(t *testing.T) {
	var s Samples
	for _, d := range []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 1500 * time.Microsecond} {
		s.Add(d)
	}
	got := s.Summarize()
	if got.Count != 4 || got.MinMS != 1 || got.MaxMS != 3 || got.P50MS != 1.5 || got.Mean != 1.875 {
		t.Fatalf("%+v", got)
	}
	if (Summarize(nil) != Summary{}) {
		t.Fatal("empty summary")
	}
}
