package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/infra/kafka/kafkatest"
)

// TestIdleConnMemory measures the edge's RSS per idle authenticated connection: it builds and starts
// the real binary in its own process (each process may hold 20,000 descriptors), opens
// PARLEY_MEMTEST_CONNS WebSocket connections over loopback from several 127.0.0.x source addresses,
// each authenticated with a one-use ticket, waits for them to settle and reads VmRSS from
// /proc/<pid>/status. Budget: 12 KB per connection (DESIGN section 8).
//
//	PARLEY_MEMTEST_CONNS=15000 go test -run TestIdleConnMemory -v -timeout 10m ./cmd/socket-edge/
func TestIdleConnMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PARLEY_MEMTEST_CONNS"))
	if n <= 0 {
		t.Skip("set PARLEY_MEMTEST_CONNS=15000 to measure")
	}
	kc := kafkatest.Start(t)
	kc.CreateTopics(t, 1, "memtest-broker", "im.delivery")
	bin := filepath.Join(t.TempDir(), "socket-edge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	prefix := fmt.Sprintf("memtest:%d:", time.Now().UnixNano())
	// Bans are checked in Keto; a stand-in answers "not banned" to every check.
	keto := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"allowed":false}`))
	}))
	defer keto.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "EDGE_ADDR="+addr, "EDGE_ID=memtest", "KAFKA_BROKERS="+strings.Join(kc.Brokers, ","),
		"BROKER_TOPIC=memtest-broker", "REDIS_PREFIX="+prefix, "LOG_LEVEL=error", "HEARTBEAT_INTERVAL=60s",
		"KETO_READ_URL="+keto.URL, "KETO_WRITE_URL="+keto.URL)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	ctx := context.Background()
	defer func() {
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		for i := 0; i < len(keys); i += 1000 {
			rdb.Del(ctx, keys[i:min(i+1000, len(keys))]...)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("edge did not start")
		}
	}
	// Warm up (one connection) so the baseline includes the runtime, clients and pools.
	pipe := rdb.Pipeline()
	for i := 0; i <= n; i++ {
		pipe.Set(ctx, fmt.Sprintf("%swsticket:t%d", prefix, i), fmt.Sprintf(`{"user_id":"user-%d","session_id":"s%d","exp":%d}`, i, i, time.Now().Add(5*time.Minute).Unix()), 5*time.Minute)
		if i%1000 == 999 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	dial := func(i int) (*websocket.Conn, error) {
		d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 256, WriteBufferSize: 256,
			NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}}).DialContext}
		u := url.URL{Scheme: "ws", Host: addr, Path: "/v1/ws", RawQuery: "ticket=t" + strconv.Itoa(i)}
		c, _, err := d.Dial(u.String(), nil)
		if err != nil {
			return nil, err
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, _, err := c.ReadMessage(); err != nil { // hello
			c.Close()
			return nil, err
		}
		return c, nil
	}
	warm, err := dial(n)
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	time.Sleep(3 * time.Second)
	before := vmRSS(t, cmd.Process.Pid)

	conns := make([]*websocket.Conn, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dial(i)
			if err != nil {
				if failed.Add(1) < 5 {
					t.Logf("dial %d: %v", i, err)
				}
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	t.Logf("%d connections in %v (%d failed)", n, time.Since(start).Round(time.Millisecond), failed.Load())
	// Idle clients: read nothing further (the edge's pings are answered by gorilla only on read,
	// and the interval is 60s, longer than this test).
	time.Sleep(10 * time.Second)
	after := vmRSS(t, cmd.Process.Pid)
	ok := n - int(failed.Load())
	per := float64(after-before) / float64(ok)
	t.Logf("VmRSS before %d KB, after %d KB, %d connections: %.2f KB per idle connection", before, after, ok, per)
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	if failed.Load() > 0 {
		t.Fatalf("%d connections failed", failed.Load())
	}
	if per > 12 {
		t.Fatalf("%.2f KB per connection, budget 12 KB", per)
	}
}

func vmRSS(t *testing.T, pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
