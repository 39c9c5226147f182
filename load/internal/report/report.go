// Package report is the load tool's result: a JSON document with the run's settings, flat named
// metrics (what -assert checks) and per-mode details, and the assertion language over those metrics.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Report is written with -report and summarized on stdout.
type Report struct {
	Mode     string             `json:"mode"`
	RunID    string             `json:"run_id"`
	Started  time.Time          `json:"started"`
	Duration float64            `json:"duration_s"`
	Settings map[string]any     `json:"settings"`
	Metrics  map[string]float64 `json:"metrics"`
	Details  map[string]any     `json:"details,omitempty"`
	Asserts  []Result           `json:"asserts,omitempty"`
	// Violations are the invariants (figures that must be zero whatever the load, such as
	// wrong_answers or lost) that were not: parley-load exits 5.
	Violations []string `json:"violations,omitempty"`
	Passed     bool     `json:"passed"`
	Errors     []string `json:"errors,omitempty"`
}

// New returns an empty report for mode.
func New(mode, runID string, started time.Time) *Report {
	return &Report{Mode: mode, RunID: runID, Started: started.UTC(), Settings: map[string]any{}, Metrics: map[string]float64{}, Details: map[string]any{}, Passed: true}
}

// Set records a metric. NaN and infinities are dropped: JSON cannot hold them and a budget cannot be
// checked against them.
func (r *Report) Set(name string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	r.Metrics[name] = v
}

// Encode renders the report as indented JSON.
func (r *Report) Encode() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// WriteFile writes the report atomically (temp file + rename), so a reader never sees half a report.
func (r *Report) WriteFile(path string) error {
	b, err := r.Encode()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Text is the human summary: metrics sorted by name, then the assertions.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "parley-load %s run %s: %.1fs\n", r.Mode, r.RunID, r.Duration)
	names := make([]string, 0, len(r.Metrics))
	for n := range r.Metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-28s %s\n", n, strconv.FormatFloat(r.Metrics[n], 'f', -1, 64))
	}
	for _, a := range r.Asserts {
		mark := "ok  "
		if !a.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %s (got %s)\n", mark, a.Expr, a.Got)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  FAIL %s (must be 0)\n", v)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	return b.String()
}

// Assertion is one budget: metric op value, for example "p99_ms<=100".
type Assertion struct {
	Expr   string
	Metric string
	Op     string
	Value  float64
}

// Result is an evaluated assertion.
type Result struct {
	Expr   string `json:"expr"`
	Got    string `json:"got"`
	Passed bool   `json:"passed"`
}

// ParseAssertion reads "metric<=v", ">=", "<", ">", "==". The value may carry a unit that matches the
// metric's suffix for readability ("p99_ms<=100ms", "rss_per_conn_kb<=12KB", "success_pct>=99.9%").
func ParseAssertion(s string) (Assertion, error) {
	expr := strings.TrimSpace(s)
	for _, op := range []string{"<=", ">=", "==", "<", ">"} {
		i := strings.Index(expr, op)
		if i <= 0 {
			continue
		}
		metric := strings.TrimSpace(expr[:i])
		val := strings.TrimSpace(expr[i+len(op):])
		for _, unit := range []string{"ms", "KB", "kb", "%", "/s"} {
			val = strings.TrimSuffix(val, unit)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || metric == "" || strings.ContainsAny(metric, "<>= ") {
			return Assertion{}, fmt.Errorf("assertion %q: want metric<=number", s)
		}
		return Assertion{Expr: expr, Metric: metric, Op: op, Value: v}, nil
	}
	return Assertion{}, fmt.Errorf("assertion %q: no operator (<=, >=, <, >, ==)", s)
}

// Check evaluates the assertions against the metrics and records the results; a metric that was not
// measured fails its assertion (a budget nobody measured is not met). It returns whether all passed.
func (r *Report) Check(as []Assertion) bool {
	ok := true
	for _, a := range as {
		v, have := r.Metrics[a.Metric]
		res := Result{Expr: a.Expr, Got: "not measured"}
		if have {
			res.Got = strconv.FormatFloat(v, 'f', -1, 64)
			switch a.Op {
			case "<=":
				res.Passed = v <= a.Value
			case ">=":
				res.Passed = v >= a.Value
			case "<":
				res.Passed = v < a.Value
			case ">":
				res.Passed = v > a.Value
			case "==":
				res.Passed = v == a.Value
			}
		}
		ok = ok && res.Passed
		r.Asserts = append(r.Asserts, res)
	}
	r.Passed = r.Passed && ok
	return ok
}

// CheckInvariants records every named metric that was measured and is not zero as a violation and
// returns them; a metric the mode does not measure is skipped (connect has no wrong answers).
func (r *Report) CheckInvariants(names []string) []string {
	var bad []string
	for _, n := range names {
		if v, ok := r.Metrics[n]; ok && v != 0 {
			bad = append(bad, n+"="+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	r.Violations = append(r.Violations, bad...)
	if len(bad) > 0 {
		r.Passed = false
	}
	return bad
}
