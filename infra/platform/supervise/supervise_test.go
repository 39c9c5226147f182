package supervise_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/platform/supervise"
	"github.com/parley-im/parley/infra/polltest"
)

// The test binary doubles as the child: SUPERVISE_HELPER selects what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("SUPERVISE_HELPER") {
	case "":
		os.Exit(m.Run())
	case "sleep":
		fmt.Println("child up")
		time.Sleep(time.Minute)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("child up")
		time.Sleep(time.Minute)
	case "grandchild":
		gc := exec.Command("sleep", "300")
		if err := gc.Start(); err != nil {
			os.Exit(3)
		}
		fmt.Printf("gcpid=%d\n", gc.Process.Pid)
		time.Sleep(time.Minute)
	}
	os.Exit(0)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func spec(mode string) supervise.Spec {
	return supervise.Spec{
		Name: mode, Path: os.Args[0], Env: append(os.Environ(), "SUPERVISE_HELPER="+mode),
		Restart: true, RestartBackoff: 10 * time.Millisecond, StopTimeout: 300 * time.Millisecond,
	}
}

func alive(pid int) bool {
	// Zombies count as gone: read the state from /proc.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func TestKilledChildIsRestartedAndOutputPrefixed(t *testing.T) {
	out := &syncBuf{}
	p, err := supervise.Start(spec("sleep"), supervise.NewLineWriter(out), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	polltest.Until(t, 10*time.Second, "first output", func() bool { return strings.Contains(out.String(), "child up") })
	if !strings.HasPrefix(out.String(), "sleep") || !strings.Contains(out.String(), "| child up") {
		t.Errorf("output not prefixed: %q", out.String())
	}
	first := p.Pid()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "restart", func() bool { return p.Restarts() == 1 && p.Pid() != first && alive(p.Pid()) })
}

func TestStopKillsTheWholeGroupEvenIfTermIgnored(t *testing.T) {
	out := &syncBuf{}
	p, err := supervise.Start(spec("grandchild"), supervise.NewLineWriter(out), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var gc int
	polltest.Until(t, 10*time.Second, "grandchild pid", func() bool {
		i := strings.Index(out.String(), "gcpid=")
		if i < 0 {
			return false
		}
		f := strings.Fields(out.String()[i+len("gcpid="):])
		gc, _ = strconv.Atoi(f[0])
		return gc > 0
	})
	child := p.Pid()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "child and grandchild gone", func() bool { return !alive(child) && !alive(gc) })

	q, err := supervise.Start(spec("ignore-term"), supervise.NewLineWriter(out), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "child up", func() bool { return strings.Count(out.String(), "child up") == 1 })
	pid := q.Pid()
	start := time.Now()
	err = q.Stop(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ignored SIGTERM") {
		t.Errorf("Stop = %v, want the SIGKILL fallback reported", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 5*time.Second {
		t.Errorf("stop took %v, want about the 300ms StopTimeout", el)
	}
	polltest.Until(t, 10*time.Second, "SIGTERM-ignoring child killed", func() bool { return !alive(pid) })
	if q.Restarts() != 0 {
		t.Errorf("a stopped child was restarted")
	}
}

func TestMissingBinaryIsAnError(t *testing.T) {
	_, err := supervise.Start(supervise.Spec{Name: "ghost", Path: "/nonexistent/bin/ghost"},
		supervise.NewLineWriter(nil), slog.New(slog.DiscardHandler))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

// The pid file follows the child across restarts (fault tests kill -9 what it names) and goes away
// with Stop.
func TestPidFileFollowsRestarts(t *testing.T) {
	s := spec("sleep")
	s.PidFile = t.TempDir() + "/run/sleep.pid"
	p, err := supervise.Start(s, supervise.NewLineWriter(&syncBuf{}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	filePid := func() int {
		b, _ := os.ReadFile(s.PidFile)
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	first := p.Pid()
	if got := filePid(); got != first {
		t.Fatalf("pid file %d, child %d", got, first)
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "restart", func() bool { return p.Restarts() == 1 && alive(p.Pid()) })
	polltest.Until(t, 10*time.Second, "pid file rewritten", func() bool { return filePid() == p.Pid() && filePid() != first })
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.PidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after Stop: %v", err)
	}
}
