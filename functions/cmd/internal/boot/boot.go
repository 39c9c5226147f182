// Package boot runs Parley's functions: it opens what a functions process shares (the PostgreSQL
// pool, Redis, the Kafka writer and outbox, the Keto client, the access layer) and serves each
// function's handler on its own address. Both runners use it: a function's own image
// (functions/cmd/<name>, one Knative Service each, through Main) and parley-functions, which runs
// every function in one process for the local platform (through Run). The builders of the functions
// live in functions/cmd/internal/wire. Env (config.go) is the one place that reads the environment:
// the mains call it.
package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/httpserver"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/otel"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/redis"
)

// Deps are the clients of one functions process, shared by every function it runs; Log is the
// function's own logger (tagged with its name). Build them with New; Close releases them.
//
// Builders run one after another before anything is served, so Guard and Fallback need no lock.
type Deps struct {
	Cfg    Config
	Log    *slog.Logger
	Pool   *pgxpool.Pool
	Redis  *goredis.Client
	Writer *kafka.Writer
	Outbox *postgres.Outbox
	Keto   *keto.Client

	access *access // shared by every function's view of the Deps
}

// access is the process's one access layer (one rules watcher, one key cache), built on first use.
type access struct {
	log       *slog.Logger
	fallbacks auth.Fallbacks
	guard     *auth.Guard
}

// New opens the stores and builds the clients; it does no I/O to Kafka or Keto (they may start
// later). It applies the migrations first when cfg.Migrate is set.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Deps, error) {
	if cfg.err != nil {
		return nil, cfg.err
	}
	ksec, err := kafka.NewSecurity(ctx, cfg.Kafka.Security)
	if err != nil {
		return nil, err
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.DatabaseURL})
	if err != nil {
		return nil, err
	}
	d := &Deps{Cfg: cfg, Log: log, Pool: pool, access: &access{log: log,
		// PostgreSQL roles answer Conversation checks when Keto is unreachable (counted in
		// parley_authz_fallback_total by infra/auth); identity adds System#banned (see Fallback).
		fallbacks: auth.Fallbacks{keto.NamespaceConversation: messaging.Roles{Pool: pool}}}}
	if cfg.Migrate {
		if err := postgres.Migrate(ctx, pool); err != nil {
			d.Close()
			return nil, err
		}
	}
	if d.Redis, err = redis.Open(ctx, cfg.Redis); err != nil {
		d.Close()
		return nil, err
	}
	if d.Writer, err = kafka.NewWriter(kafka.Config{Brokers: cfg.Kafka.Brokers, Security: ksec, BatchTimeout: cfg.Kafka.BatchTimeout}); err != nil {
		d.Close()
		return nil, err
	}
	log.Info("kafka", "brokers", cfg.Kafka.Brokers, "security", ksec.String())
	d.Outbox = postgres.NewOutbox(pool, d.Writer, cfg.BrokerTopic, log)
	kc := cfg.Keto
	kc.Log = log
	if d.Keto, err = keto.New(kc); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Named returns the view of d a function builds from: the same clients, Log tagged with its name.
func (d *Deps) Named(name string) *Deps {
	v := *d
	v.Log = d.access.log.With("function", name)
	return &v
}

// Guard returns the process's access layer, building it on first use from Config's OIDC,
// RulesFile, limits and TrustForwardedFor; a malformed limit is refused here.
func (d *Deps) Guard(ctx context.Context) (*auth.Guard, error) {
	a := d.access
	if a.guard != nil {
		return a.guard, nil
	}
	if d.Cfg.guardErr != nil {
		return nil, d.Cfg.guardErr
	}
	log := a.log
	g, err := auth.NewGuard(ctx, auth.GuardConfig{
		OIDC: d.Cfg.OIDC, RulesFile: d.Cfg.RulesFile, Redis: d.Redis, RedisPrefix: d.Cfg.Redis.Prefix, Keto: d.Keto, Fallback: a.fallbacks,
		UserLimit: d.Cfg.UserLimit, IPLimit: d.Cfg.IPLimit, MaxConcurrent: d.Cfg.MaxConcurrent, TrustForwardedFor: d.Cfg.TrustForwardedFor,
		WriteError: func(w http.ResponseWriter, r *http.Request, err error) { serve.WriteError(w, r, log, err) },
		Log:        log,
	})
	if err != nil {
		return nil, err
	}
	a.guard = g
	return g, nil
}

// Guarded returns the serve options of a function with public routes: its logger and g's middleware.
func (d *Deps) Guarded(g *auth.Guard) serve.Options {
	return serve.Options{Log: d.Log, Guard: g.Middleware}
}

// Unguarded returns the serve options of a function that only receives events.
func (d *Deps) Unguarded() serve.Options { return serve.Options{Log: d.Log} }

// Fallback registers fb as the access layer's answer for namespace when Keto is unreachable.
func (d *Deps) Fallback(namespace string, fb auth.RoleFallback) { d.access.fallbacks[namespace] = fb }

// Ready is the process's readiness: its stores answer.
func (d *Deps) Ready(ctx context.Context) error {
	if err := d.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := d.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Close releases the clients (the Kafka writer flushes first).
func (d *Deps) Close() {
	if d.Writer != nil {
		_ = d.Writer.Close()
	}
	if d.Redis != nil {
		_ = d.Redis.Close()
	}
	d.Pool.Close()
}

// Builder builds one function's handler from the process's clients. Whatever it starts runs until
// ctx is done.
type Builder func(ctx context.Context, d *Deps) (http.Handler, error)

// Function is one function a process serves: its name, listen address and builder.
type Function struct {
	Name, Addr string
	Build      Builder
}

// Run opens the clients once, builds every function of fns, then serves each on its own address
// until ctx is done.
func Run(ctx context.Context, cfg Config, log *slog.Logger, fns []Function) error {
	for _, fn := range fns { // before anything is opened: a setting is wrong, not a dependency down
		if err := cfg.FunctionErr(fn.Name); err != nil {
			return fmt.Errorf("%s: %w", fn.Name, err)
		}
	}
	service := "parley-functions"
	if len(fns) == 1 {
		service = fns[0].Name
	}
	tel, err := otel.Setup(ctx, otel.Config{Service: service, OTLPEndpoint: cfg.OTLPEndpoint, OTLPInsecure: true})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer tel.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort flush at exit
	d, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	servers := make([]*httpserver.Server, 0, len(fns))
	for _, fn := range fns {
		fd := d.Named(fn.Name)
		h, err := fn.Build(ctx, fd)
		if err != nil {
			return fmt.Errorf("%s: %w", fn.Name, err)
		}
		srv, err := httpserver.New(httpserver.Config{Addr: fn.Addr, Name: fn.Name, Metrics: tel.MetricsHandler()}, h, d.Ready, fd.Log)
		if err != nil {
			return fmt.Errorf("%s: %w", fn.Name, err)
		}
		fd.Log.Info("function listening", "addr", srv.Addr())
		servers = append(servers, srv)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, srv := range servers {
		g.Go(func() error { return srv.Run(gctx) })
	}
	if cfg.ProfileAddr != "" {
		g.Go(func() error { return httpserver.ServeProfiles(gctx, cfg.ProfileAddr, log) })
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Main is the body of a function's own image: it serves build as name on cfg.Listen until SIGTERM
// or SIGINT, and exits 1 if that fails.
func Main(name string, cfg Config, build Builder) {
	exit(name, cfg, func(ctx context.Context, log *slog.Logger) error {
		return Run(ctx, cfg, log, []Function{{Name: name, Addr: cfg.Listen, Build: build}})
	})
}

// Task is the body of a one-shot command of a function's image (identity rotate-keys): it opens the
// clients, runs task with name's view of them, closes them, and exits 1 if that fails.
func Task(name string, cfg Config, task func(ctx context.Context, d *Deps) error) {
	exit(name, cfg, func(ctx context.Context, log *slog.Logger) error {
		if err := cfg.FunctionErr(name); err != nil {
			return err
		}
		d, err := New(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer d.Close()
		return task(ctx, d.Named(name))
	})
}

func exit(name string, cfg Config, run func(ctx context.Context, log *slog.Logger) error) {
	log := cfg.Logger()
	if err := run(signals.NewContext(), log); err != nil {
		log.Error(name+" stopped", "err", err)
		os.Exit(1)
	}
}
