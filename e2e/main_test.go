//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
)

// sys is the platform under test. It is package state only because TestMain is the one place that can
// start a process for every test of the package; tests read it and never change it.
var sys *system

type system struct {
	gateway string   // http://host:port of the public HTTP API
	edges   []string // ws://host:port/v1/ws of each socket-edge
	hc      *http.Client
	logPath string // the started platform's log, when we started it
	// pushCA signs the certificates of the push-service stand-ins; the platform's push function
	// trusts it (PUSH_TLS_CA_FILE). nil against an external platform: the push scenarios skip.
	pushCA *pushCA
	// admin is the username that gets the admin role when registered (IDENTITY_ADMIN_USERNAMES);
	// "" against an external platform unless PARLEY_E2E_ADMIN names one.
	admin string
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	s := &system{hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	stop := func() error { return nil }
	if gw := os.Getenv("PARLEY_E2E_GATEWAY"); gw != "" {
		s.gateway = strings.TrimSuffix(gw, "/")
		for _, e := range strings.Split(os.Getenv("PARLEY_E2E_EDGES"), ",") {
			if e = strings.TrimSpace(e); e != "" {
				s.edges = append(s.edges, client.EdgeURL(e))
			}
		}
		if len(s.edges) == 0 {
			s.edges = []string{client.EdgeURL("ws://127.0.0.1:8090")}
		}
		s.admin = os.Getenv("PARLEY_E2E_ADMIN")
	} else {
		var err error
		stop, err = s.start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: start platform:", err)
			if s.logPath != "" {
				fmt.Fprintln(os.Stderr, "e2e: platform log:", s.logPath)
			}
			_ = stop()
			return 1
		}
	}
	if err := s.awaitReady(startTimeout()); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if s.logPath != "" {
			fmt.Fprintln(os.Stderr, "e2e: platform log:", s.logPath)
		}
		_ = stop()
		return 1
	}
	sys = s
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stop platform:", err)
		if code == 0 {
			code = 1
		}
	}
	if code != 0 && s.logPath != "" {
		fmt.Fprintln(os.Stderr, "e2e: platform log:", s.logPath)
	}
	return code
}

// e2eEditWindow is the EDIT_WINDOW of the platform the suite starts; edits in the tests happen well
// within it.
const e2eEditWindow = 8 * time.Second

func startTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PARLEY_E2E_START_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 3 * time.Minute
}

// start runs bin/parley-platform with two edges on private ports and a private data directory, so the
// suite does not collide with a `make dev` on the default ports. Extra settings can be passed as
// PARLEY_E2E_PLATFORM_ENV="K=V,K=V".
func (s *system) start() (stop func() error, err error) {
	bin := os.Getenv("PARLEY_PLATFORM_BIN")
	if bin == "" {
		bin = filepath.Join("..", "bin", "parley-platform")
	}
	if _, err := os.Stat(bin); err != nil {
		return func() error { return nil }, fmt.Errorf("%s not found (run `make dev` or `make build` in the repo root, or set PARLEY_E2E_GATEWAY): %w", bin, err)
	}
	dir, err := os.MkdirTemp("", "parley-e2e-")
	if err != nil {
		return func() error { return nil }, err
	}
	const edges = 2
	ports, err := freePorts(3)
	if err != nil {
		return func() error { return nil }, err
	}
	edgeBase, err := freeRun(edges)
	if err != nil {
		return func() error { return nil }, err
	}
	gw := fmt.Sprintf("127.0.0.1:%d", ports[0])
	if s.pushCA, err = newPushCA(dir); err != nil {
		return func() error { return nil }, err
	}
	s.admin = "e2eadmin_" + randHex(6)
	env := append(os.Environ(),
		"PUSH_TLS_CA_FILE="+s.pushCA.file,
		"IDENTITY_ADMIN_USERNAMES="+s.admin,
		"GATEWAY_ADDR="+gw,
		"EDGES="+strconv.Itoa(edges),
		"EDGE_BASE_PORT="+strconv.Itoa(edgeBase),
		fmt.Sprintf("BROKER_INGRESS_ADDR=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("KAFKA_ADDR=127.0.0.1:%d", ports[2]),
		"DATA_DIR="+filepath.Join(dir, "data"),
		"REDIS_PREFIX=parley-e2e-"+filepath.Base(dir)+":",
		// Every other address (S3, Keto, functions) on a free port too: a private platform beside `make dev`.
		"RANDOM_PORTS=true",
		"BIN_DIR="+filepath.Dir(abs(bin)),
		// A short edit window, so TestEditWindow can pass it (API.md: EDIT_WINDOW, default 10 min).
		"EDIT_WINDOW="+e2eEditWindow.String(),
	)
	for _, kv := range strings.Split(os.Getenv("PARLEY_E2E_PLATFORM_ENV"), ",") {
		if strings.Contains(kv, "=") {
			env = append(env, strings.TrimSpace(kv))
		}
	}
	s.logPath = filepath.Join(dir, "platform.log")
	logf, err := os.Create(s.logPath)
	if err != nil {
		return func() error { return nil }, err
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a platform that ignores SIGTERM can be killed with its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return func() error { return nil }, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	s.gateway = "http://" + gw
	for i := range edges {
		s.edges = append(s.edges, fmt.Sprintf("ws://127.0.0.1:%d/v1/ws", edgeBase+i))
	}
	return func() error {
		defer logf.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Exited() {
				return fmt.Errorf("platform exited with %d", ee.ExitCode())
			}
			return nil
		case <-time.After(45 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			return errors.New("platform did not stop within 45s of SIGTERM; killed")
		}
	}, nil
}

// awaitReady polls /readyz of the gateway and every edge until all answer 200.
func (s *system) awaitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	targets := []string{s.gateway + "/readyz"}
	for _, e := range s.edges {
		h := strings.Replace(strings.Replace(e, "ws://", "http://", 1), "wss://", "https://", 1)
		targets = append(targets, strings.TrimSuffix(h, "/v1/ws")+"/readyz")
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for _, u := range targets {
		for {
			if ready(ctx, s.hc, u) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s not ready within %s", u, timeout)
			case <-tick.C:
			}
		}
	}
	return nil
}

func ready(ctx context.Context, hc *http.Client, u string) bool {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// freeRun finds n consecutive free ports (the edges listen on base+i).
func freeRun(n int) (int, error) {
	for base := 21090; base < 30000; base += 10 {
		var ls []net.Listener
		ok := true
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("no run of free ports for the edges")
}
