//go:build e2e

package load_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Smoke runs of every mode with tiny sizes. They check the tool end to end, not performance.
//
// Against a running platform when PARLEY_E2E_GATEWAY (and PARLEY_E2E_EDGES) are set; otherwise the test
// starts a private platform itself (../bin/parley-platform, or PARLEY_PLATFORM_BIN: two edges, every
// port free, a temporary DATA_DIR, its own REDIS_PREFIX), like e2e/main_test.go, so `make test` runs it
// in CI with nothing listening on the `make dev` ports.
func TestSmoke(t *testing.T) {
	gw, edges := os.Getenv("PARLEY_E2E_GATEWAY"), os.Getenv("PARLEY_E2E_EDGES")
	var dataDir string // only known for a platform of our own: its pid files give the edges' pids
	if gw == "" {
		gw, edges, dataDir = startPlatform(t)
	} else if edges == "" {
		edges = "ws://127.0.0.1:8090/v1/ws,ws://127.0.0.1:8091/v1/ws"
	}
	gw = strings.TrimSuffix(gw, "/")
	if err := awaitReady(gw, strings.Split(edges, ","), 3*time.Minute); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "parley-load")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/parley-load").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	// The connect run measures the edges' memory after its ping rounds when their pids are known.
	connectArgs := []string{"-n", "20", "-users", "5", "-per-worker", "10", "-sources", "2", "-rate", "50", "-hold", "4s",
		"-ping-interval", "1s", "-ping-rounds", "2", "-assert", "success_pct>=100", "-assert", "pong_pct>=50", "-assert", "ping_rounds_measured==2"}
	if dataDir != "" {
		var pids []string
		for i := range strings.Split(edges, ",") {
			b, err := os.ReadFile(filepath.Join(dataDir, "run", "edge-"+strconv.Itoa(i)+".pid"))
			if err != nil {
				t.Fatalf("edge pid file: %v", err)
			}
			pids = append(pids, strings.TrimSpace(string(b)))
		}
		connectArgs = append(connectArgs, "-edge-pid", strings.Join(pids, ","), "-assert", "edge0_rss_per_conn_kb_round2>0")
	}
	// Every chat and fanout run must have no wrong answer and no out-of-order push (besides exiting 0,
	// which a violated invariant would not); the asserts say which figure failed.
	correct := []string{"-assert", "lost==0", "-assert", "dup==0", "-assert", "wrong_answers==0", "-assert", "out_of_order==0"}
	modes := []struct {
		name, mode string
		args       []string
	}{
		{"connect", "connect", connectArgs},
		{"chat", "chat", append([]string{"-users", "6", "-convs", "2", "-rate", "20", "-duration", "3s", "-grace", "10s",
			"-assert", "unanswered==0", "-assert", "error_answers==0", "-assert", "time_to_error_max_ms<=2000"}, correct...)},
		// One ack frame per push, as docs/protocol.md tells clients: 3 users per conversation at 20 msg/s
		// send ~13 frames/s each, under the edge's 20/s per connection.
		{"chat-ack-every-push", "chat", append([]string{"-users", "6", "-convs", "2", "-rate", "20", "-duration", "3s", "-grace", "10s",
			"-ack-every-push", "-assert", "disconnects==0", "-assert", "acks_dropped==0"}, correct...)},
		{"fanout", "fanout", append([]string{"-members", "10", "-messages", "2", "-grace", "10s", "-assert", "missing==0"}, correct...)},
	}
	for i, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "report.json")
			full := append([]string{m.mode, "-gateway", gw, "-edges", edges, "-run", run + strconv.Itoa(i), "-report", report, "-max-time", "2m"}, m.args...)
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

var (
	apiRe  = regexp.MustCompile(`msg="parley platform ready".* api=(\S+)`)
	edgeRe = regexp.MustCompile(`msg=socket-edge id=\S+ ws=(\S+)`)
)

// startPlatform runs a private platform and returns its gateway URL and comma-separated edge URLs, read
// from the platform's own output, and its DATA_DIR. It is stopped (SIGTERM, then waited for) when the
// test ends.
func startPlatform(t *testing.T) (gateway, edges, dataDir string) {
	t.Helper()
	bin := os.Getenv("PARLEY_PLATFORM_BIN")
	if bin == "" {
		bin = filepath.Join("..", "bin", "parley-platform")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not found (run `make build` in the repo root, or set PARLEY_E2E_GATEWAY): %v", bin, err)
	}
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "platform.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"RANDOM_PORTS=true",
		"EDGES=2",
		"DATA_DIR="+dataDir,
		"REDIS_PREFIX=parley-load-smoke-"+strconv.FormatInt(time.Now().UnixNano(), 36)+":",
		"BIN_DIR="+filepath.Dir(bin),
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a platform that ignores SIGTERM can be killed with its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		defer logf.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Exited() {
				t.Errorf("platform exited with %d (log %s)", ee.ExitCode(), logPath)
			}
		case <-time.After(45 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("platform did not stop within 45s of SIGTERM; killed (log %s)", logPath)
		}
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("platform log:\n%s", tail(b, 8000))
			}
		}
	})

	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("platform exited before it was ready: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		gateway, edges = addrs(logPath)
		if gateway != "" {
			if edges == "" {
				t.Fatalf("platform ready but no socket-edge address in its output (%s)", logPath)
			}
			return gateway, edges, dataDir
		}
	}
	t.Fatalf("platform not ready within 3m (log %s)", logPath)
	return "", "", ""
}

// addrs reads the gateway and edge URLs from the platform log; gateway is empty until it logged ready.
func addrs(logPath string) (gateway, edges string) {
	f, err := os.Open(logPath)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	var es []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := edgeRe.FindStringSubmatch(line); m != nil {
			es = append(es, m[1])
		} else if m := apiRe.FindStringSubmatch(line); m != nil {
			gateway = m[1]
		}
	}
	return gateway, strings.Join(es, ",")
}

// awaitReady polls /readyz of the gateway and of every edge until all answer 200.
func awaitReady(gw string, edges []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	targets := []string{gw + "/readyz"}
	for _, e := range edges {
		h := strings.Replace(strings.TrimSpace(e), "ws://", "http://", 1)
		targets = append(targets, strings.TrimSuffix(h, "/v1/ws")+"/readyz")
	}
	for _, u := range targets {
		for !ready(ctx, u) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s not ready within %s", u, timeout)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

func ready(ctx context.Context, u string) bool {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
