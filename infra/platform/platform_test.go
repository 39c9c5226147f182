package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/platform"
	"github.com/parley-im/parley/infra/polltest"
	"github.com/parley-im/parley/infra/s3"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "../..")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func databaseURL(name string) string {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	return strings.Replace(base, "/postgres?", "/"+name+"?", 1)
}

// dropDatabases removes the test's databases once the platform is gone.
func dropDatabases(t *testing.T, names ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, databaseURL("postgres"))
		if err != nil {
			t.Logf("drop databases: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, n := range names {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Logf("drop %s: %v", n, err)
			}
		}
	})
}

// The platform refuses to start, with one message naming what is missing and how to start it,
// and leaves nothing listening.
func TestStartRefusesWhenPostgresOrRedisIsMissing(t *testing.T) {
	dead := freeAddr(t) // nothing listens here
	cases := []struct {
		name     string
		cfg      platform.Config
		want     []string
		dontWant string
	}{
		{"postgres", platform.Config{DatabaseURL: "postgres://postgres@" + dead + "/parley?sslmode=disable"},
			[]string{"PostgreSQL is not reachable at postgres://postgres@" + dead, "pg_ctlcluster", "DATABASE_URL"}, "Redis"},
		{"redis", platform.Config{RedisAddr: dead},
			[]string{"Redis is not reachable at " + dead, "redis-server", "REDIS_ADDR"}, "PostgreSQL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kafkaAddr, gwAddr := freeAddr(t), freeAddr(t)
			cfg := c.cfg
			cfg.RootDir = repoRoot(t)
			cfg.DataDir = t.TempDir()
			cfg.RandomPorts = true
			cfg.KafkaAddr, cfg.GatewayAddr = kafkaAddr, gwAddr
			cfg.Logger = testLogger(t)
			p, err := platform.Start(context.Background(), cfg)
			if err == nil {
				p.Close(context.Background())
				t.Fatal("started without a dependency")
			}
			if !errors.Is(err, platform.ErrDependency) {
				t.Errorf("error is not ErrDependency: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), c.dontWant) {
				t.Errorf("error blames %s, which is running:\n%v", c.dontWant, err)
			}
			for _, a := range []string{kafkaAddr, gwAddr} {
				ln, err := net.Listen("tcp", a)
				if err != nil {
					t.Errorf("%s still in use after a refused start: %v", a, err)
					continue
				}
				ln.Close()
			}
		})
	}
}

// fakeFunctions makes BinDir/parley-functions: a script that runs this test binary as a tiny
// functions process (see TestMain), so the platform's wiring is tested without the real functions.
func fakeFunctions(t *testing.T, binDir string) {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\nPLATFORM_TEST_HELPER=functions exec %q -test.run=^$ \"$@\"\n", os.Args[0])
	if err := os.WriteFile(filepath.Join(binDir, "parley-functions"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func linkTools(t *testing.T, binDir string) {
	t.Helper()
	for _, tool := range []string{"keto", "versitygw"} {
		src := filepath.Join(repoRoot(t), "bin", tool)
		if _, err := os.Stat(src); err != nil {
			t.Skipf("%s not built (make tools): %v", tool, err)
		}
		if err := os.Symlink(src, filepath.Join(binDir, tool)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("PLATFORM_TEST_HELPER") == "functions" {
		runHelperFunctions()
		return
	}
	os.Exit(m.Run())
}

// runHelperFunctions serves every function in FUNCTIONS_LISTEN: /readyz, POST / records the
// CloudEvent type in a log line; GET /v1/... answers with the function's name.
func runHelperFunctions() {
	var wg sync.WaitGroup
	for _, kv := range strings.Split(os.Getenv("FUNCTIONS_LISTEN"), ",") {
		name, addr, _ := strings.Cut(kv, "=")
		if name == os.Getenv("HELPER_SKIP") {
			continue // as parley-functions does for a function not built into it
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
		mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Printf("EVENT fn=%s type=%s id=%s\n", name, r.Header.Get("Ce-Type"), r.Header.Get("Ce-Id"))
			w.WriteHeader(http.StatusAccepted)
		})
		mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s %s issuer=%s", name, r.Method, r.URL.Path, os.Getenv("OIDC_ISSUER"))
		})
		wg.Go(func() { _ = http.ListenAndServe(addr, mux) })
	}
	wg.Wait()
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// One private platform: dependencies, Kafka topics, versitygw with notifications, Keto with the
// OPL, the broker ingress, triggers and the ping source delivering to (stand-in) functions, the
// gateway's routing and readiness, restart of a killed child, and a clean stop.
func TestPlatformRunsEveryPart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts keto and versitygw")
	}
	binDir := t.TempDir()
	linkTools(t, binDir)
	fakeFunctions(t, binDir)
	suffix := fmt.Sprintf("%d", os.Getpid())
	appDB, ketoDB := "parley_platform_test_"+suffix, "parley_keto_test_"+suffix
	dropDatabases(t, appDB, ketoDB)
	out := &syncBuf{}
	ctx := context.Background()
	webDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(webDir, "index.html"), []byte("<title>Parley web</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	p, err := platform.Start(ctx, platform.Config{
		RootDir: repoRoot(t), DataDir: t.TempDir(), BinDir: binDir, RandomPorts: true, Partitions: 2,
		DatabaseURL: databaseURL(appDB), KetoDatabase: ketoDB, Without: []string{"edges"},
		StopTimeout: 3 * time.Second, ChildOutput: out, Logger: testLogger(t),
		ExtraEnv: []string{"HELPER_SKIP=realtime"}, WebDir: webDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			p.Close(ctx)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := p.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("private platform ready in %v", time.Since(started))
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, _ := get(p.Addrs.PublicURL + "/readyz"); c != 200 {
		t.Errorf("gateway /readyz = %d", c)
	}

	t.Run("gateway routes by method and path", func(t *testing.T) {
		c, body := get(p.Addrs.PublicURL + "/v1/users/me")
		if c != 200 || !strings.HasPrefix(body, "identity GET /v1/users/me") || !strings.Contains(body, "issuer="+p.Addrs.PublicURL) {
			t.Errorf("GET /v1/users/me -> %d %q", c, body)
		}
		resp, err := http.Post(p.Addrs.PublicURL+"/v1/conversations/c1/messages", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), "send POST") {
			t.Errorf("POST messages went to %q, want send", b)
		}
		if c, body := get(p.Addrs.PublicURL + "/v1/nowhere"); c != 404 || !strings.Contains(body, `"code":"not_found"`) {
			t.Errorf("unknown route -> %d %s", c, body)
		}
		// realtime is not served by this functions build: ready anyway, its routes answer 503.
		if c, body := get(p.Addrs.PublicURL + "/v1/presence"); c != 503 || !strings.Contains(body, `"code":"unavailable"`) {
			t.Errorf("route of a function not served -> %d %s", c, body)
		}
	})

	t.Run("gateway serves the web client and S3 admits its origin", func(t *testing.T) {
		for _, path := range []string{"/", "/chats/c1"} {
			if c, body := get(p.Addrs.PublicURL + path); c != 200 || !strings.Contains(body, "<title>Parley web</title>") {
				t.Errorf("GET %s -> %d %q, want the web client's index.html", path, c, body)
			}
		}
		if c, body := get(p.Addrs.PublicURL + "/.well-known/nothing"); c == 200 && strings.Contains(body, "Parley web") {
			t.Errorf("/.well-known/ served the web client")
		}
		// A browser preflight of a presigned PUT from the gateway's origin.
		req, _ := http.NewRequest(http.MethodOptions, p.Addrs.S3URL+"/parley-files/some-key", nil)
		req.Header.Set("Origin", p.Addrs.PublicURL)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != p.Addrs.PublicURL {
			t.Errorf("versitygw preflight Access-Control-Allow-Origin = %q, want %q (status %d)", got, p.Addrs.PublicURL, resp.StatusCode)
		}
	})

	t.Run("ingress to trigger to function", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, p.Addrs.IngressURL, strings.NewReader(`{}`))
		for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "cmd-1", "Ce-Source": "/test",
			"Ce-Type": "im.message.send.v1", "Ce-Partitionkey": "conv-1", "Content-Type": "application/json"} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("ingress answered %d", resp.StatusCode)
		}
		polltest.Until(t, 15*time.Second, "send function got the command", func() bool {
			return strings.Contains(out.String(), "EVENT fn=send type=im.message.send.v1 id=cmd-1")
		})
		if strings.Contains(out.String(), "fn=fanout type=im.message.send.v1") {
			t.Error("the fanout trigger let a command through")
		}
	})

	t.Run("ping source reaches sweep", func(t *testing.T) {
		polltest.Until(t, 15*time.Second, "outbox sweep ping", func() bool {
			return strings.Contains(out.String(), "EVENT fn=sweep type=dev.knative.sources.ping")
		})
	})

	t.Run("s3 upload notifies the upload function", func(t *testing.T) {
		cli, err := s3.New(s3.Config{Endpoint: p.Addrs.S3URL, AccessKey: "parley-dev", SecretKey: "parley-dev-secret", Bucket: "parley-files"})
		if err != nil {
			t.Fatal(err)
		}
		put, err := cli.PresignPut(ctx, "u1/file-1", "text/plain")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(put.Method, put.URL, strings.NewReader("hello"))
		req.Header = put.Headers.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("presigned PUT: %s", resp.Status)
		}
		obj, err := cli.Head(ctx, "u1/file-1")
		if err != nil || obj.Size != 5 || obj.ContentType != "text/plain" {
			t.Errorf("head = %+v, %v", obj, err)
		}
		got, err := cli.PresignGet(ctx, "u1/file-1")
		if err != nil {
			t.Fatal(err)
		}
		if c, body := get(got.URL); c != 200 || body != "hello" {
			t.Errorf("presigned GET = %d %q", c, body)
		}
		polltest.Until(t, 20*time.Second, "upload function got the bucket notification", func() bool {
			return strings.Contains(out.String(), "EVENT fn=upload type=dev.knative.kafka.event")
		})
	})

	t.Run("keto serves the OPL namespaces", func(t *testing.T) {
		tuple := `{"namespace":"Conversation","object":"c1","relation":"admins","subject_id":"alice"}`
		req, _ := http.NewRequest(http.MethodPut, p.Addrs.KetoWriteURL+"/admin/relation-tuples", strings.NewReader(tuple))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("write tuple: %s", resp.Status)
		}
		check := func(subject, relation string) bool {
			c, body := get(p.Addrs.KetoReadURL + "/relation-tuples/check/openapi?namespace=Conversation&object=c1&relation=" +
				relation + "&subject_id=" + subject)
			var r struct{ Allowed bool }
			if c != 200 || json.Unmarshal([]byte(body), &r) != nil {
				t.Fatalf("check: %d %s", c, body)
			}
			return r.Allowed
		}
		if !check("alice", "manage") || !check("alice", "send") || check("bob", "send") || check("alice", "own") {
			t.Error("Conversation permits do not follow the OPL (admins manage and send, strangers nothing, only owners own)")
		}
	})

	t.Run("a killed child comes back", func(t *testing.T) {
		fn := p.Process("functions")
		old := fn.Pid()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		polltest.Until(t, 20*time.Second, "functions restarted and ready", func() bool {
			return fn.Restarts() == 1 && fn.Pid() != old && p.Ready(ctx) == nil
		})
	})

	t.Run("broker writes are readable with the kafka adapter", func(t *testing.T) {
		w, err := kafka.NewWriter(kafka.Config{Brokers: []string{p.Addrs.Kafka}})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		e := event.New()
		e.SetID("fact-1")
		e.SetSource("/test")
		e.SetType("im.message.created.v1")
		e.SetExtension("partitionkey", "conv-1")
		if err := w.Publish(ctx, "knative-broker-parley-default", e); err != nil {
			t.Fatal(err)
		}
		polltest.Until(t, 15*time.Second, "fanout got the fact", func() bool {
			return strings.Contains(out.String(), "EVENT fn=fanout type=im.message.created.v1 id=fact-1")
		})
	})

	var pids []int
	for _, n := range []string{"functions", "keto", "versitygw"} {
		pids = append(pids, p.Process(n).Pid())
	}
	stopStart := time.Now()
	if err := p.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	closed = true
	t.Logf("stopped in %v", time.Since(stopStart))
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still alive after Close", pid)
		}
	}
	for _, a := range []string{p.Addrs.Gateway, p.Addrs.Kafka, p.Addrs.Ingress, p.Addrs.S3, p.Addrs.KetoRead} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s still in use after Close", a)
			continue
		}
		ln.Close()
	}
}
