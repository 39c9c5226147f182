// Package s3test starts a private versitygw (the S3 gateway the local platform runs) for a test: its
// own free port, its own temp directory, optionally bucket notifications to a Kafka topic, stopped
// when the test ends. Tests then talk the real S3 protocol: SDK calls, presigned URLs, notifications.
package s3test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/s3"
)

// Credentials and region of every test gateway.
const (
	AccessKey = "parley-test"
	SecretKey = "parley-test-secret"
	Region    = "us-east-1"
)

// Options of Start. The zero value runs a gateway without notifications.
type Options struct {
	// KafkaBroker and Topic turn on bucket notifications (versitygw writes plain JSON records there).
	// The topic must exist: versitygw writes its s3:TestEvent at start-up and fails without it.
	KafkaBroker string
	Topic       string
	// Bin is the versitygw binary; default PARLEY_VERSITYGW, else bin/versitygw found by walking up
	// from the working directory to the workspace root (`make tools` builds it).
	Bin string
}

// Server is a running gateway.
type Server struct {
	URL string // http://127.0.0.1:<port>
	Dir string // the posix backend's root
}

// Start runs versitygw and waits until it answers S3 calls.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin := opts.Bin
	if bin == "" {
		bin = findBin()
	}
	if bin == "" {
		tb.Fatal("s3test: bin/versitygw not found: run `make tools` or set PARLEY_VERSITYGW")
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	dir := tb.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"--port", addr, "--region", Region, "--quiet"}
	if opts.KafkaBroker != "" {
		args = append(args, "--event-kafka-url", opts.KafkaBroker, "--event-kafka-topic", opts.Topic)
	}
	args = append(args, "posix", dir)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// Own process group, so the cleanup's kill reaches the gateway and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("s3test: start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	s := &Server{URL: "http://" + addr, Dir: dir}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return s
		}
		select {
		case <-exited:
			tb.Fatalf("s3test: versitygw exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("s3test: versitygw did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Config returns an s3.Config for bucket on this gateway (internal and public endpoint alike).
func (s *Server) Config(bucket string) s3.Config {
	return s3.Config{Endpoint: s.URL, PublicEndpoint: s.URL, Region: Region, AccessKey: AccessKey,
		SecretKey: SecretKey, Bucket: bucket}
}

// Client builds a client from cfg (usually Config with changes) and creates its bucket.
func (s *Server) Client(tb testing.TB, cfg s3.Config) *s3.Client {
	tb.Helper()
	c, err := s3.New(cfg)
	if err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.EnsureBucket(ctx); err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	return c
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func findBin() string {
	if p := os.Getenv("PARLEY_VERSITYGW"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, "bin", "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
