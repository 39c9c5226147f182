package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	// A Parley metric as PromQL names it in the chart (alerts, autoscaler queries, dashboard).
	promMetric = regexp.MustCompile(`\bparley_[a-z0-9_]+`)
	// A Parley metric as the code registers it: a Go string literal.
	goMetric = regexp.MustCompile(`"(parley_[a-z0-9_]+)"`)
)

// registeredMetrics is every "parley_..." string literal in the non-test Go sources of the
// repository: the names the processes register with their OTel meter.
func registeredMetrics(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".data", "bin", "node_modules", "web":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range goMetric.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// exportedAs reports whether the PromQL name ref is what the Prometheus exporter makes of one of
// the registered names: histograms get _bucket/_count/_sum, counters _total, a unit of seconds
// _seconds (in that order from the end).
func exportedAs(ref string, registered map[string]bool) bool {
	name := ref
	if registered[name] {
		return true
	}
	for _, suffixes := range [][]string{{"_bucket", "_count", "_sum"}, {"_total"}, {"_seconds"}} {
		for _, s := range suffixes {
			if strings.HasSuffix(name, s) {
				name = strings.TrimSuffix(name, s)
				break
			}
		}
		if registered[name] {
			return true
		}
	}
	return false
}

// TestChartMetricsAreRegistered checks that every parley_* metric the chart's alerts, autoscaler
// queries and Grafana dashboard read is one the code registers: a renamed or misspelt metric makes
// an alert that never fires and a panel that stays empty, which no other check notices.
func TestChartMetricsAreRegistered(t *testing.T) {
	registered := registeredMetrics(t, "..")
	if len(registered) == 0 {
		t.Fatal("no parley_* metric found in the Go sources: wrong root?")
	}
	files, err := filepath.Glob("../charts/parley/templates/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../charts/parley/dashboards/*.json")
	values, _ := filepath.Glob("../charts/parley/values*.yaml")
	files = append(append(files, more...), values...)
	checked := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range promMetric.FindAllString(string(src), -1) {
			if strings.HasSuffix(ref, "_") {
				continue // a family in prose: parley_edge_*
			}
			checked[ref] = true
			if !exportedAs(ref, registered) {
				t.Errorf("%s: %s is not a metric the code registers", f, ref)
			}
		}
	}
	if len(checked) == 0 {
		t.Fatal("no parley_* metric referenced by the chart: wrong paths?")
	}
	names := make([]string, 0, len(checked))
	for n := range checked {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("%d metrics checked: %s", len(names), strings.Join(names, " "))
}

func TestExportedAs(t *testing.T) {
	reg := map[string]bool{"parley_edge_command_answer_duration": true, "parley_pushes": true, "parley_x_total": true}
	for ref, want := range map[string]bool{
		"parley_edge_command_answer_duration_seconds_bucket": true,
		"parley_pushes_total":                                true,
		"parley_x_total":                                     true,
		"parley_edge_command_answer_seconds_bucket":          false,
		"parley_push_total":                                  false,
	} {
		if got := exportedAs(ref, reg); got != want {
			t.Errorf("exportedAs(%s) = %v, want %v", ref, got, want)
		}
	}
}
