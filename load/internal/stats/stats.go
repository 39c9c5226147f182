// Package stats holds latency samples and their summary. Samples are kept whole (a run is bounded, so
// memory is too) because merging the children's results of the connect mode needs exact percentiles.
package stats

import (
	"math"
	"sort"
	"sync"
	"time"
)

// Samples collects durations; safe for concurrent use.
type Samples struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one duration.
func (s *Samples) Add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

// AddAll records many (a child's results).
func (s *Samples) AddAll(ds []time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, ds...)
	s.mu.Unlock()
}

// Values returns a copy of the samples.
func (s *Samples) Values() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// Len returns the number of samples.
func (s *Samples) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// Summary is the distribution of a set of durations, in milliseconds for the report.
type Summary struct {
	Count int     `json:"count"`
	MinMS float64 `json:"min_ms"`
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Summarize sorts a copy of the samples and returns their summary.
func (s *Samples) Summarize() Summary { return Summarize(s.Values()) }

// Summarize returns the summary of ds (ds is sorted in place).
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Summary{
		Count: len(ds),
		MinMS: ms(ds[0]),
		P50MS: ms(Percentile(ds, 50)),
		P95MS: ms(Percentile(ds, 95)),
		P99MS: ms(Percentile(ds, 99)),
		MaxMS: ms(ds[len(ds)-1]),
		Mean:  ms(sum / time.Duration(len(ds))),
	}
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the nearest-rank method: the
// smallest sample such that at least p% of the samples are <= it. Nearest rank never invents a value
// that was not measured, which is what a budget ("p99 <= 100 ms") is checked against.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
