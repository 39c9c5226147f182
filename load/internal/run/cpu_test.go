package run

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/load/internal/report"
)

func TestStatCPU(t *testing.T) {
	// A command name with a space and a ')' in it; utime 1234, stime 566 (fields 14 and 15).
	stat := "4242 (we ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 7 8 20 0 12 0 555 1000 200 18446744073709551615"
	d, err := StatCPU(stat, 10*time.Millisecond)
	if err != nil || d != 18*time.Second {
		t.Fatalf("StatCPU = %v, %v; want 18s", d, err)
	}
	if _, err := StatCPU("4242 (x) S 1 2", 10*time.Millisecond); err == nil {
		t.Fatal("a short stat line parsed")
	}
	// This process's own line parses and has used some CPU.
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc")
	}
	if d, err := StatCPU(string(b), clockTick()); err != nil || d < 0 {
		t.Fatalf("own stat: %v, %v", d, err)
	}
}

func TestAuxvValue(t *testing.T) {
	var b []byte
	for _, kv := range [][2]uint64{{6, 4096}, {17, 250}, {0, 0}, {17, 999}} {
		b = binary.LittleEndian.AppendUint64(b, kv[0])
		b = binary.LittleEndian.AppendUint64(b, kv[1])
	}
	if v := AuxvValue(b, 17); v != 250 {
		t.Fatalf("AT_CLKTCK = %d, want 250 (the entry before AT_NULL)", v)
	}
	if v := AuxvValue(b, 33); v != 0 {
		t.Fatalf("absent key = %d", v)
	}
	if tick := clockTick(); tick <= 0 || tick > time.Second {
		t.Fatalf("clock tick %v", tick)
	}
}

// New pids count whole (a new PostgreSQL backend, a restarted child), known ones by their growth;
// the figures are per acknowledged message, per process and in total.
func TestCPUPerMessage(t *testing.T) {
	before := cpuSnapshot{"functions": {10: time.Second}, "postgres": {20: 2 * time.Second, 21: time.Second}}
	after := cpuSnapshot{"functions": {10: 3 * time.Second}, "postgres": {20: 3 * time.Second, 22: 500 * time.Millisecond},
		"edge-0": {30: time.Second}}
	used := cpuUsed(before, after)
	want := map[string]time.Duration{"functions": 2 * time.Second, "postgres": 1500 * time.Millisecond, "edge-0": time.Second}
	for n, d := range want {
		if used[n] != d {
			t.Fatalf("%s used %v, want %v (all: %v)", n, used[n], d, used)
		}
	}
	r := report.New("chat", "t", time.Now())
	setCPUFigures(r, used, 1000, 10*time.Second)
	for k, v := range map[string]float64{"cpu_us_per_msg.functions": 2000, "cpu_us_per_msg.postgres": 1500,
		"cpu_us_per_msg.edge-0": 1000, "cpu_us_per_msg.total": 4500, "cpu_window_s": 10} {
		if got, ok := r.Metrics[k]; !ok || got != v {
			t.Fatalf("%s = %v (%v), want %v; metrics %v", k, got, ok, v, r.Metrics)
		}
	}
	// On a live machine the tool measures at least its own process.
	s := takeCPU(t.TempDir(), clockTick())
	if _, ok := s["load"]; !ok {
		t.Fatalf("own process not measured: %v", s)
	}
	for n := range s {
		if strings.ContainsAny(n, " /") {
			t.Fatalf("odd process name %q", n)
		}
	}
}
