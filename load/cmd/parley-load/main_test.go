package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		want int
		msg  string
	}{
		{nil, exitUsage, "usage"},
		{[]string{"bogus"}, exitUsage, "unknown mode"},
		{[]string{"chat", "-gateway", "http://10.0.0.1:8080"}, exitUsage, "loopback"},
		{[]string{"chat", "-edges", "ws://example.com/v1/ws"}, exitUsage, "loopback"},
		{[]string{"chat", "-assert", "p99"}, exitUsage, "operator"},
		{[]string{"connect", "-n", "500000"}, exitUsage, "-n"},
		{[]string{"fanout", "-members", "1"}, exitUsage, "-members"},
		{[]string{"chat", "-allow-cluster-targets"}, exitUsage, "Kubernetes"},
		{[]string{"chat", "extra"}, exitUsage, "unexpected"},
		{[]string{"chat", "-cpuprofile", "/nonexistent-parley-dir/cpu.prof"}, exitUsage, "-cpuprofile"},
		{[]string{"soak", "-data-dir", "/nonexistent-parley-data"}, exitUsage, "-data-dir"},
		{[]string{"soak", "-data-dir", "/nonexistent", "-duration", "90s"}, exitUsage, "2 x -window"},
		{[]string{"connect", "-heartbeat", "5s", "-ping-interval", "5s"}, exitUsage, "give one"},
		{[]string{"connect", "-ping-rounds", "3", "-ping-interval", "30s", "-hold", "1m"}, exitUsage, "-hold"},
	}
	for _, c := range cases {
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		var out, errb bytes.Buffer
		if got := realMain(c.args, &out, &errb); got != c.want || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q", c.args, got, errb.String())
		}
	}
}

func TestSetupFailureExitCode(t *testing.T) {
	// Nothing listens on this loopback port: the setup phase fails with exit code 3, and the report says why.
	var out, errb bytes.Buffer
	got := realMain([]string{"fanout", "-gateway", "http://127.0.0.1:9", "-edges", "ws://127.0.0.1:9/v1/ws", "-members", "2", "-max-time", "20s"}, &out, &errb)
	if got != exitSetup || !strings.Contains(out.String(), "setup") {
		t.Fatalf("exit %d out %q err %q", got, out.String(), errb.String())
	}
}

// TestCPUProfileWritten: -cpuprofile leaves a pprof file behind even when the run fails.
func TestCPUProfileWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	var out, errb bytes.Buffer
	realMain([]string{"fanout", "-gateway", "http://127.0.0.1:9", "-edges", "ws://127.0.0.1:9/v1/ws", "-members", "2",
		"-max-time", "20s", "-cpuprofile", path}, &out, &errb)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A pprof profile is a gzipped protocol buffer.
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("not a pprof profile: %v", err)
	}
	if b, err := io.ReadAll(zr); err != nil || len(b) == 0 {
		t.Fatalf("profile body: %d bytes, %v", len(b), err)
	}
}
