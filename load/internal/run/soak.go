package run

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"sort"
	"time"

	"github.com/parley-im/parley/load/internal/report"
)

// SoakConfig is the soak mode: the chat workload at a fixed rate for a long time, while the resident
// memory and goroutines of every process of the platform are sampled, to see whether they stay flat.
type SoakConfig struct {
	Chat ChatConfig
	// DataDir is the platform's DATA_DIR: it writes each process's pid to DataDir/run/<name>.pid.
	DataDir     string
	SampleEvery time.Duration
	// Window: the mean of the first Window of samples is compared with the mean of the last Window.
	Window time.Duration
	// Warmup: samples of the first Warmup of the send phase are kept but left out of the first
	// window, so what the setup left behind (argon2id's memory of the registrations, buffers of the
	// new connections being returned to the OS) is not mistaken for a trend.
	Warmup       time.Duration
	TolerancePct float64 // a series is flat when the two means differ by at most this much
}

// Validate checks the soak settings, and that DataDir holds pid files (a soak that samples nothing
// would report "flat" about nothing).
func (c SoakConfig) Validate() error {
	errs := []error{c.Chat.Validate()}
	if c.SampleEvery < time.Second || c.SampleEvery > 5*time.Minute {
		errs = append(errs, errors.New("-sample-every: 1s..5m"))
	}
	if c.Window < c.SampleEvery {
		errs = append(errs, errors.New("-window: at least -sample-every (one sample per window)"))
	}
	if c.Warmup < 0 {
		errs = append(errs, errors.New("-warmup: >= 0"))
	}
	if c.Chat.Duration < c.Warmup+2*c.Window+c.SampleEvery {
		// One sample of margin: sampling drifts by the time a sample takes, and the first and the last
		// window must not share a sample.
		errs = append(errs, errors.New("-duration: at least -warmup + 2 x -window + -sample-every (the first and the last window must not overlap)"))
	}
	if c.TolerancePct <= 0 || c.TolerancePct > 100 {
		errs = append(errs, errors.New("-flat-tolerance: (0, 100] percent"))
	}
	if _, err := readPidFiles(filepath.Join(c.DataDir, "run")); err != nil {
		errs = append(errs, fmt.Errorf("-data-dir: %w (the platform's DATA_DIR, while it runs)", err))
	}
	return errors.Join(errs...)
}

// Soak runs the soak mode: the chat figures, plus per process the first- and last-window means of
// VmRSS and goroutines and whether each is flat.
func Soak(ctx context.Context, c SoakConfig, progress Progress, r *report.Report) error {
	s := &sampler{dir: filepath.Join(c.DataDir, "run"), every: c.SampleEvery, hc: &http.Client{}, procs: map[string]*procSeries{}}
	err := chat(ctx, c.Chat, progress, r, s.run)
	s.report(r, c.Warmup, c.Window, c.TolerancePct)
	return err
}

// point is one sample of a series, at T since sampling began.
type point struct {
	T time.Duration
	V float64
}

// Flatness compares the mean of a series' first window with the mean of its last window.
type Flatness struct {
	FirstMean float64 `json:"first_mean"`
	LastMean  float64 `json:"last_mean"`
	GrowthPct float64 `json:"growth_pct"`
	FirstN    int     `json:"first_samples"`
	LastN     int     `json:"last_samples"`
	Flat      bool    `json:"flat"`
	Note      string  `json:"note,omitempty"`
}

// flatness is the first window [t0, t0+window) against the last (tEnd-window, tEnd]; flat when the
// last mean is within tolPct of the first. Windows that share a sample, or a first mean of 0 with
// a non-zero last, are never flat: there is nothing to compare, or the growth is unbounded.
func flatness(ps []point, window time.Duration, tolPct float64) Flatness {
	var f Flatness
	if len(ps) == 0 {
		f.Note = "no samples"
		return f
	}
	t0, tEnd := ps[0].T, ps[len(ps)-1].T
	firstEnd, lastStart := 0, len(ps) // ps[:firstEnd] first window, ps[lastStart:] last
	var sumF, sumL float64
	for i, p := range ps {
		if p.T < t0+window {
			firstEnd = i + 1
			sumF += p.V
		}
		if p.T > tEnd-window {
			lastStart = min(lastStart, i)
			sumL += p.V
		}
	}
	f.FirstN, f.LastN = firstEnd, len(ps)-lastStart
	f.FirstMean, f.LastMean = sumF/float64(f.FirstN), sumL/float64(f.LastN)
	switch {
	case firstEnd > lastStart:
		f.Note = "the series is shorter than two windows"
	case f.FirstMean == 0:
		f.Flat = f.LastMean == 0
		if !f.Flat {
			f.Note = "grew from 0"
		}
	default:
		f.GrowthPct = math.Round(10000*(f.LastMean-f.FirstMean)/f.FirstMean) / 100
		f.Flat = math.Abs(f.GrowthPct) <= tolPct
	}
	return f
}

// procSeries is what the sampler saw of one process.
type procSeries struct {
	PID        int    `json:"pid"`
	Restarts   int    `json:"restarts"` // the pid changed between samples: the series spans processes
	MetricsURL string `json:"metrics_url,omitempty"`
	Missed     int    `json:"missed_samples"` // VmRSS could not be read (between restarts, gone)
	rss, gor   []point
}

// sampler samples, every `every`, VmRSS and go_goroutines of each process with a pid file in dir.
// It runs on one goroutine and is read only after it returned.
type sampler struct {
	dir   string
	every time.Duration
	hc    *http.Client
	procs map[string]*procSeries
	start time.Time
	n     int
}

// run samples until ctx ends, and once more then: the last window must reach the end of the send
// phase.
func (s *sampler) run(ctx context.Context) {
	s.start = time.Now()
	t := time.NewTicker(s.every)
	defer t.Stop()
	s.sample(ctx)
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
			s.sample(fctx)
			cancel()
			return
		case <-t.C:
			s.sample(ctx)
		}
	}
}

func (s *sampler) sample(ctx context.Context) {
	at := time.Since(s.start)
	pids, err := readPidFiles(s.dir)
	if err != nil {
		return
	}
	s.n++
	for name, pid := range pids {
		p := s.procs[name]
		if p == nil {
			p = &procSeries{}
			s.procs[name] = p
		}
		if p.PID != pid {
			if p.PID != 0 {
				p.Restarts++
			}
			p.PID = pid
			// Which listener (if any) serves go_goroutines is found once per process, not per sample.
			p.MetricsURL, _ = findMetric(ctx, s.hc, pid, "go_goroutines")
		}
		kb, err := rssKB(pid)
		if err != nil {
			p.Missed++
			continue
		}
		p.rss = append(p.rss, point{at, float64(kb)})
		if p.MetricsURL != "" {
			if g, err := scrapeMetric(ctx, s.hc, p.MetricsURL, "go_goroutines"); err == nil {
				p.gor = append(p.gor, point{at, g})
			}
		}
	}
}

// procFigures is one process in the report's details.
type procFigures struct {
	procSeries
	RSSKB      Flatness  `json:"rss_kb"`
	Goroutines *Flatness `json:"goroutines"` // null: the process exposes no go_goroutines
}

// report writes per process rss_{first,last}_kb.<name>, rss_growth_pct.<name> and the same for
// goroutines, the details, and not_flat: the series (and restarted processes) that are not flat.
func (s *sampler) report(r *report.Report, warmup, window time.Duration, tolPct float64) {
	judged := func(ps []point) []point { // the samples after the warm-up
		i := sort.Search(len(ps), func(i int) bool { return ps[i].T >= warmup })
		return ps[i:]
	}
	names := make([]string, 0, len(s.procs))
	for n := range s.procs {
		names = append(names, n)
	}
	sort.Strings(names)
	details := map[string]procFigures{}
	var noGoroutines []string
	notFlat := 0
	for _, n := range names {
		p := s.procs[n]
		pf := procFigures{procSeries: *p, RSSKB: flatness(judged(p.rss), window, tolPct)}
		r.Set("rss_first_kb."+n, math.Round(pf.RSSKB.FirstMean))
		r.Set("rss_last_kb."+n, math.Round(pf.RSSKB.LastMean))
		r.Set("rss_growth_pct."+n, pf.RSSKB.GrowthPct)
		if !pf.RSSKB.Flat || p.Restarts > 0 {
			notFlat++
		}
		if len(p.gor) > 0 {
			g := flatness(judged(p.gor), window, tolPct)
			pf.Goroutines = &g
			r.Set("goroutines_first."+n, g.FirstMean)
			r.Set("goroutines_last."+n, g.LastMean)
			r.Set("goroutines_growth_pct."+n, g.GrowthPct)
			if !g.Flat {
				notFlat++
			}
		} else {
			noGoroutines = append(noGoroutines, n)
		}
		details[n] = pf
	}
	r.Set("processes", float64(len(names)))
	r.Set("samples", float64(s.n))
	r.Set("not_flat", float64(notFlat))
	r.Details["processes"] = details
	r.Details["flat_rule"] = fmt.Sprintf("mean of the last %s within %g %% of the mean of the first %s after a warm-up of %s", window, tolPct, window, warmup)
	if len(noGoroutines) > 0 {
		r.Details["goroutines_not_exposed"] = noGoroutines
	}
}
