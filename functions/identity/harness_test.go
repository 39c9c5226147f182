package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/keto/ketotest"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/postgres/pgtest"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/resilience"
)

// cheapPasswords keeps tests fast; the benchmarks use the production costs.
var cheapPasswords = PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, ...event.Event) error { return nil }

// env is one isolated identity deployment: its own database, Redis prefix, Keto server and issuer.
type env struct {
	t         testing.TB
	srv       *httptest.Server
	pool      *pgxpool.Pool
	rdb       *goredis.Client
	prefix    string
	keto      *ketotest.Server
	kc        *keto.Client
	fn        *Function
	guard     *auth.Guard
	rulesFile string
	reader    *sdkmetric.ManualReader
	convRoles *fakeRoles
}

type envOptions struct {
	passwords PasswordParams
	issuer    string // external issuer to trust instead of our own ("" = ours)
	extraRule string // appended to the rules file
	delay     time.Duration
	noLimits  bool
	objects   ObjectStore // file storage erasure deletes from (nil: none)
}

// fakeRoles stands in for the conversations function's PostgreSQL roles.
type fakeRoles struct {
	mu    sync.Mutex
	grant map[string]bool // object#relation@user
}

func (f *fakeRoles) HasRelation(_ context.Context, _, object, relation, userID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grant[object+"#"+relation+"@"+userID], nil
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.passwords == (PasswordParams{}) {
		o.passwords = cheapPasswords
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e := &env{t: t, convRoles: &fakeRoles{grant: map[string]bool{}}}
	e.pool, _ = pgtest.New(t)
	e.rdb = goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	if err := e.rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() { _ = e.rdb.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	e.prefix = "parley_t_" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		keys, _ := e.rdb.Keys(context.Background(), e.prefix+"*").Result()
		if len(keys) > 0 {
			e.rdb.Del(context.Background(), keys...)
		}
	})
	e.keto = ketotest.Start(t)
	kcfg := e.keto.Config()
	kcfg.Timeout = 300 * time.Millisecond
	kcfg.Breaker = resilience.BreakerConfig{Failures: 2, Window: 4, Delay: 300 * time.Millisecond, Successes: 1}
	kcfg.Log = log
	var err error
	if e.kc, err = keto.New(kcfg); err != nil {
		t.Fatal(err)
	}

	var handler http.Handler = http.NotFoundHandler()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	issuer := e.srv.URL
	if o.issuer != "" {
		issuer = o.issuer
	}

	e.rulesFile = filepath.Join(t.TempDir(), "rules.yaml")
	e.writeRules(o.extraRule)
	e.reader = sdkmetric.NewManualReader()
	fallbacks := auth.Fallbacks{keto.NamespaceConversation: e.convRoles}
	limits := ratelimit.PerSecond(1000, 2000)
	if o.noLimits {
		limits = ratelimit.Limit{}
	}
	e.guard, err = auth.NewGuard(ctx, auth.GuardConfig{
		OIDC: auth.OIDC{Issuer: issuer, Audience: "parley"}, RulesFile: e.rulesFile, RulesPoll: 100 * time.Millisecond,
		Redis: e.rdb, RedisPrefix: e.prefix, Keto: e.kc, Fallback: fallbacks,
		UserLimit: limits, IPLimit: limits,
		WriteError: func(w http.ResponseWriter, r *http.Request, err error) { serve.WriteError(w, r, log, err) },
		Meter:      sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader)).Meter("test"),
		Log:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.fn, err = New(ctx, Config{
		Issuer: e.srv.URL, Password: o.passwords, KeyPublishDelay: o.delay, AdminUsernames: []string{"root"},
	}, Deps{
		Pool: e.pool, Outbox: postgres.NewOutbox(e.pool, nopPublisher{}, "broker", log),
		Revocations: e.guard.Revocations, Tickets: e.guard.Tickets, Limiter: e.guard.Limiter,
		Roles: e.kc, Authorizer: e.guard.Authorizer, Objects: o.objects, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	fallbacks[keto.NamespaceSystem] = e.fn.BanFallback()
	h, err := serve.Mount(ctx, serve.Options{Log: log, Guard: e.guard.Middleware}, e.fn.Routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	handler = h
	return e
}

func (e *env) writeRules(extra string) {
	e.t.Helper()
	data := []byte(auth.DefaultRules + `
  - name: conversation-manage
    methods: [PATCH]
    path: ^/v1/conversations/(?P<id>[^/]+)$
    require: Conversation:{id}#admins
    on_outage: fallback
` + extra)
	// Write then rename, as a ConfigMap update does, so the watcher never reads half a file.
	tmp := e.rulesFile + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.rulesFile); err != nil {
		e.t.Fatal(err)
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) problem() events.Problem {
	var p events.Problem
	_ = json.Unmarshal(r.body, &p)
	return p
}

func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// want fails the test unless r has status (and, for errors, code).
func want(t testing.TB, what string, r response, status int, code events.Code) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if code != "" && r.problem().Code != code {
		t.Fatalf("%s: code %q, want %q; body %s", what, r.problem().Code, code, r.body)
	}
}

func (e *env) register(username, password string) events.Auth {
	e.t.Helper()
	r := e.do("POST", "/v1/auth/register", "", events.RegisterRequest{Username: username, Password: password})
	want(e.t, "register "+username, r, http.StatusCreated, "")
	var a events.Auth
	if err := json.Unmarshal(r.body, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// facts returns the types of the outbox rows about userID, oldest first.
func (e *env) facts(userID string) []string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT event->>'type' FROM outbox WHERE event->>'subject' = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// fallbacks sums parley_authz_fallback_total by mode.
func (e *env) fallbacks() map[string]int64 {
	e.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != auth.FallbackMetric {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				mode, _ := dp.Attributes.Value("mode")
				out[mode.AsString()] += dp.Value
			}
		}
	}
	return out
}
