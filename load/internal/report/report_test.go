package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseAssertion(t *testing.T) {
	good := map[string]Assertion{
		"p99_ms<=100":           {Metric: "p99_ms", Op: "<=", Value: 100},
		" p50_ms <= 15ms ":      {Metric: "p50_ms", Op: "<=", Value: 15},
		"success_pct>=99.9%":    {Metric: "success_pct", Op: ">=", Value: 99.9},
		"rss_per_conn_kb<=12KB": {Metric: "rss_per_conn_kb", Op: "<=", Value: 12},
		"lost==0":               {Metric: "lost", Op: "==", Value: 0},
		"throughput>2999":       {Metric: "throughput", Op: ">", Value: 2999},
	}
	for in, want := range good {
		got, err := ParseAssertion(in)
		if err != nil || got.Metric != want.Metric || got.Op != want.Op || got.Value != want.Value {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "p99", "<=5", "p99<=abc", "a b<=1"} {
		if _, err := ParseAssertion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckAndEncode(t *testing.T) {
	r := New("chat", "r1", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	r.Set("p99_ms", 80)
	r.Set("lost", 1)
	r.Set("nan", math.NaN())
	var as []Assertion
	for _, s := range []string{"p99_ms<=100", "lost==0", "dup==0"} {
		a, err := ParseAssertion(s)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	if r.Check(as) || r.Passed {
		t.Fatal("passed with lost=1 and dup unmeasured")
	}
	if !r.Asserts[0].Passed || r.Asserts[1].Passed || r.Asserts[2].Got != "not measured" {
		t.Fatalf("%+v", r.Asserts)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Mode != "chat" || back.Metrics["p99_ms"] != 80 || len(back.Asserts) != 3 || back.Passed {
		t.Fatalf("%+v", back)
	}
	if _, ok := back.Metrics["nan"]; ok {
		t.Fatal("NaN metric encoded")
	}
}

func TestCheckInvariants(t *testing.T) {
	r := New("chat", "r1", time.Now())
	r.Set("wrong_answers", 0)
	r.Set("lost", 2)
	if bad := r.CheckInvariants([]string{"wrong_answers", "lost", "not_measured"}); len(bad) != 1 || bad[0] != "lost=2" {
		t.Fatalf("violations %v", bad)
	}
	if r.Passed || len(r.Violations) != 1 {
		t.Fatalf("%+v", r)
	}
	ok := New("connect", "r1", time.Now())
	if bad := ok.CheckInvariants([]string{"lost"}); len(bad) != 0 || !ok.Passed {
		t.Fatal("a mode without the figure violated it")
	}
}
