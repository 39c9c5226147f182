// Package boot builds what a messaging function's own binary (functions/cmd/<name>, one Knative
// Service each) needs: the PostgreSQL pool, the Kafka writer and outbox, the Keto client, the
// access layer (infra/auth Guard), and the HTTP server that runs one function's handler. The mains
// read their environment into Config (Env) and hand Run a builder; nothing here reads the environment.
package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/httpserver"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/redis"
)

// Config is what every messaging function reads from its environment. Zero values take the
// defaults Env documents.
type Config struct {
	Listen       string   // LISTEN_ADDRESS, default ":8080" (Knative's PORT when set)
	DatabaseURL  string   // DATABASE_URL
	Migrate      bool     // MIGRATE=true applies migrations at start (the cluster runs a job instead)
	RedisAddr    string   // REDIS_ADDR
	RedisPrefix  string   // REDIS_PREFIX, default "parley:"
	KafkaBrokers []string // KAFKA_BROKERS, comma list
	BrokerTopic  string   // BROKER_TOPIC, default "knative-broker-parley-default"
	OIDCIssuer   string   // OIDC_ISSUER
	OIDCDiscover string   // OIDC_DISCOVERY_URL (optional)
	Audience     string   // OIDC_AUDIENCE, default "parley"
	KetoRead     string   // KETO_READ_URL
	KetoWrite    string   // KETO_WRITE_URL
	RulesFile    string   // RULES_FILE (empty: built-in rules)
	// Int and Duration settings of the functions (MAX_TEXT_CHARS, REVOKE_WINDOW...), raw.
	Get func(key string) string
}

// Env reads Config through getenv (os.Getenv in a main).
func Env(getenv func(string) string) Config {
	def := func(k, d string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return d
	}
	listen := def("LISTEN_ADDRESS", "")
	if listen == "" {
		listen = ":" + def("PORT", "8080")
	}
	var brokers []string
	for _, b := range strings.Split(def("KAFKA_BROKERS", "127.0.0.1:9092"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return Config{
		Listen:       listen,
		DatabaseURL:  def("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable"),
		Migrate:      getenv("MIGRATE") == "true",
		RedisAddr:    def("REDIS_ADDR", "127.0.0.1:6379"),
		RedisPrefix:  def("REDIS_PREFIX", "parley:"),
		KafkaBrokers: brokers,
		BrokerTopic:  def("BROKER_TOPIC", "knative-broker-parley-default"),
		OIDCIssuer:   def("OIDC_ISSUER", "http://127.0.0.1:8080"),
		OIDCDiscover: getenv("OIDC_DISCOVERY_URL"),
		Audience:     def("OIDC_AUDIENCE", "parley"),
		KetoRead:     def("KETO_READ_URL", "http://127.0.0.1:4466"),
		KetoWrite:    def("KETO_WRITE_URL", "http://127.0.0.1:4467"),
		RulesFile:    getenv("RULES_FILE"),
		Get:          getenv,
	}
}

// Int returns the integer setting key, or def when unset or malformed.
func (c Config) Int(key string, def int) int {
	var v int
	if c.Get == nil {
		return def
	}
	if _, err := fmt.Sscan(c.Get(key), &v); err != nil {
		return def
	}
	return v
}

// Duration returns the duration setting key, def when unset; a malformed value is an error.
func (c Config) Duration(key string, def time.Duration) (time.Duration, error) {
	if c.Get == nil || c.Get(key) == "" {
		return def, nil
	}
	d, err := time.ParseDuration(c.Get(key))
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

// Deps are the clients of one function process. Build them with New; Close releases them.
type Deps struct {
	Cfg    Config
	Log    *slog.Logger
	Pool   *pgxpool.Pool
	Redis  *goredis.Client
	Writer *kafka.Writer
	Outbox *postgres.Outbox
	Keto   *keto.Client
}

// New opens the stores and builds the clients; it does no I/O to Kafka or Keto (they may start later).
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Deps, error) {
	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.DatabaseURL})
	if err != nil {
		return nil, err
	}
	d := &Deps{Cfg: cfg, Log: log, Pool: pool}
	if cfg.Migrate {
		if err := postgres.Migrate(ctx, pool); err != nil {
			d.Close()
			return nil, err
		}
	}
	if d.Redis, err = redis.Open(ctx, redis.Config{Addr: cfg.RedisAddr, Prefix: cfg.RedisPrefix}); err != nil {
		d.Close()
		return nil, err
	}
	if d.Writer, err = kafka.NewWriter(kafka.Config{Brokers: cfg.KafkaBrokers}); err != nil {
		d.Close()
		return nil, err
	}
	d.Outbox = postgres.NewOutbox(pool, d.Writer, cfg.BrokerTopic, log)
	if d.Keto, err = keto.New(keto.Config{ReadURL: cfg.KetoRead, WriteURL: cfg.KetoWrite, Log: log}); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Guard builds the access layer for the public routes, with PostgreSQL roles as the Conversation
// fallback when Keto is unreachable (counted in parley_authz_fallback_total by infra/auth).
func (d *Deps) Guard(ctx context.Context) (*auth.Guard, serve.Options, error) {
	log := d.Log
	g, err := auth.NewGuard(ctx, auth.GuardConfig{
		Issuer: d.Cfg.OIDCIssuer, DiscoveryURL: d.Cfg.OIDCDiscover, Audience: d.Cfg.Audience,
		RulesFile: d.Cfg.RulesFile, Redis: d.Redis, RedisPrefix: d.Cfg.RedisPrefix, Keto: d.Keto,
		Fallback:          auth.Fallbacks{keto.NamespaceConversation: messaging.Roles{Pool: d.Pool}},
		MaxConcurrent:     uint(d.Cfg.Int("MAX_CONCURRENT", 256)),
		TrustForwardedFor: d.Cfg.Get == nil || d.Cfg.Get("TRUST_FORWARDED_FOR") != "false",
		WriteError:        func(w http.ResponseWriter, r *http.Request, err error) { serve.WriteError(w, r, log, err) },
		Log:               log,
	})
	if err != nil {
		return nil, serve.Options{}, err
	}
	return g, serve.Options{Log: log, Guard: g.Middleware}, nil
}

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

// Builder builds one function's handler from the process's clients.
type Builder func(ctx context.Context, d *Deps) (http.Handler, error)

// Run builds the deps, the function and its HTTP server, and serves until ctx is done.
func Run(ctx context.Context, name string, cfg Config, log *slog.Logger, build Builder) error {
	log = log.With("function", name)
	d, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	h, err := build(ctx, d)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	srv, err := httpserver.New(httpserver.Config{Addr: cfg.Listen}, h, d.Ready, log)
	if err != nil {
		return err
	}
	log.Info("function listening", "addr", srv.Addr())
	if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
