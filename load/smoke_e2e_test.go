//go:build e2e

package load_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Smoke runs of every mode with tiny sizes against a running platform (PARLEY_E2E_GATEWAY and
// PARLEY_E2E_EDGES, default the `make dev` ports). They check the tool end to end, not performance.
func TestSmoke(t *testing.T) {
	gw := envOr("PARLEY_E2E_GATEWAY", "http://127.0.0.1:8080")
	edges := envOr("PARLEY_E2E_EDGES", "ws://127.0.0.1:8090/v1/ws,ws://127.0.0.1:8091/v1/ws")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Skipf("no ready platform at %s (start one with `make dev`): %v", gw, err)
	}
	resp.Body.Close()

	bin := filepath.Join(t.TempDir(), "parley-load")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/parley-load").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	modes := map[string][]string{
		"connect": {"-n", "20", "-users", "5", "-per-worker", "10", "-sources", "2", "-rate", "50", "-hold", "3s", "-heartbeat", "1s", "-assert", "success_pct>=100", "-assert", "pong_pct>=50"},
		"chat":    {"-users", "6", "-convs", "2", "-rate", "20", "-duration", "3s", "-grace", "10s", "-assert", "lost==0", "-assert", "dup==0"},
		"fanout":  {"-members", "10", "-messages", "2", "-grace", "10s", "-assert", "missing==0"},
	}
	for mode, args := range modes {
		t.Run(mode, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "report.json")
			full := append([]string{mode, "-gateway", gw, "-edges", edges, "-run", run + mode[:2], "-report", report, "-max-time", "2m"}, args...)
			out, err := exec.Command(bin, full...).CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("parley-load %s: %v", strings.Join(full, " "), err)
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				Passed  bool               `json:"passed"`
				Metrics map[string]float64 `json:"metrics"`
			}
			if err := json.Unmarshal(b, &r); err != nil || !r.Passed {
				t.Fatalf("report: %s %v", b, err)
			}
		})
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
