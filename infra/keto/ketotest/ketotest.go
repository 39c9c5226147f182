// Package ketotest runs a real Ory Keto server for a test: its own PostgreSQL database
// (parley_keto_t_<random>), free loopback ports and Parley's OPL namespaces. The test is skipped,
// with a message saying how to build it, only when the keto binary is absent.
package ketotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// DefaultOPL is used only when the repository's infra/platform/keto/namespaces.keto.ts cannot be
// found from the test's working directory; it declares the same namespaces.
const DefaultOPL = `import { Namespace, Context } from "@ory/keto-namespace-types"

class User implements Namespace {}

class Role implements Namespace {
  related: {
    members: User[]
  }
}

class System implements Namespace {
  related: {
    banned: User[]
  }
}

class Conversation implements Namespace {
  related: {
    owners: User[]
    admins: User[]
    members: User[]
  }
  permits = {
    own: (ctx: Context): boolean => this.related.owners.includes(ctx.subject),
    manage: (ctx: Context): boolean =>
      this.related.owners.includes(ctx.subject) || this.related.admins.includes(ctx.subject),
    read: (ctx: Context): boolean =>
      this.related.members.includes(ctx.subject) || this.permits.manage(ctx),
  }
}
`

// Server is a running Keto. Stop and Start let a test take it down and bring it back on the same ports.
type Server struct {
	ReadURL, WriteURL string
	bin, cfg, logf    string
	mu                sync.Mutex
	cmd               *exec.Cmd
	done              chan struct{}
}

// Start migrates a fresh database and starts keto serve; everything is removed when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := findBinary()
	if bin == "" {
		tb.Skip("ketotest: keto binary not found (set PARLEY_KETO_BIN or build it into bin/keto: cd infra/tools/keto && go build -o ../../../bin/keto github.com/ory/keto)")
	}
	dir := tb.TempDir()
	opl := filepath.Join(dir, "namespaces.keto.ts")
	src := []byte(DefaultOPL)
	if p := findUp(filepath.Join("infra", "platform", "keto", "namespaces.keto.ts")); p != "" {
		if b, err := os.ReadFile(p); err == nil && len(bytes.TrimSpace(b)) > 0 {
			src = b
		}
	}
	if err := os.WriteFile(opl, src, 0o600); err != nil {
		tb.Fatal(err)
	}
	dsn := createDatabase(tb)
	ports := freePorts(tb, 4)
	cfg := filepath.Join(dir, "keto.yml")
	body := fmt.Sprintf(`version: v0.13.0-alpha.0
dsn: %q
log:
  level: warn
serve:
  read: {host: 127.0.0.1, port: %d}
  write: {host: 127.0.0.1, port: %d}
  opl: {host: 127.0.0.1, port: %d}
  metrics: {host: 127.0.0.1, port: %d}
namespaces:
  location: %q
`, dsn, ports[0], ports[1], ports[2], ports[3], "file://"+opl)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	s := &Server{
		ReadURL:  fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		WriteURL: fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		bin:      bin, cfg: cfg, logf: filepath.Join(dir, "keto.log"),
	}
	out, err := exec.Command(bin, "migrate", "up", "-y", "-c", cfg).CombinedOutput()
	if err != nil {
		tb.Fatalf("ketotest: keto migrate: %v\n%s", err, out)
	}
	tb.Cleanup(s.Stop)
	if err := s.Start(); err != nil {
		tb.Fatalf("ketotest: %v", err)
	}
	return s
}

// Config is a keto.Config for this server with short timeouts and a quick breaker, for tests.
func (s *Server) Config() keto.Config {
	return keto.Config{ReadURL: s.ReadURL, WriteURL: s.WriteURL}
}

// Client builds a keto.Client for this server.
func (s *Server) Client(tb testing.TB) *keto.Client {
	tb.Helper()
	c, err := keto.New(s.Config())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Start runs keto serve and waits until it is ready (no-op when running).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(s.logf, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "serve", "-c", s.cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start keto: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(s.logf)
			s.cmd = nil
			return fmt.Errorf("keto exited at start:\n%s", log)
		default:
		}
		if ready(s.ReadURL) && ready(s.WriteURL) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("keto not ready after 20s (log %s)", s.logf)
}

// Stop kills the server and waits for it to exit (no-op when stopped).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

func ready(base string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(base + "/health/ready")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func createDatabase(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		tb.Fatalf("ketotest: connect %s: %v", pgtest.AdminURL(), err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "parley_keto_t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("ketotest: create database: %v", err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgtest.AdminURL())
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, _ := url.Parse(pgtest.AdminURL())
	u.Path = "/" + name
	return u.String()
}

func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

func findBinary() string {
	if p := os.Getenv("PARLEY_KETO_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	return findUp(filepath.Join("bin", "keto"))
}

// findUp looks for rel in the working directory and its parents (tests run in their package directory).
func findUp(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
