package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/functions/identity"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/redis"
)

// config is what this process reads from its environment (same names as parley-functions).
type config struct {
	listen, databaseURL, redisAddr, redisPrefix string
	kafka                                       []string
	brokerTopic, issuer, discoveryURL, audience string
	ketoRead, ketoWrite, rulesFile              string
	keyEncryptionKey                            []byte
	keyPublishDelay                             time.Duration
	admins                                      []string
	trustForwardedFor                           bool
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func loadConfig() (config, error) {
	delay, err := time.ParseDuration(env("IDENTITY_KEY_PUBLISH_DELAY", "10m"))
	if err != nil {
		return config{}, fmt.Errorf("IDENTITY_KEY_PUBLISH_DELAY: %w", err)
	}
	return config{
		listen:            ":" + env("PORT", "8080"),
		databaseURL:       env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable"),
		redisAddr:         env("REDIS_ADDR", "127.0.0.1:6379"),
		redisPrefix:       env("REDIS_PREFIX", "parley:"),
		kafka:             list(env("KAFKA_BROKERS", "127.0.0.1:9092")),
		brokerTopic:       env("BROKER_TOPIC", "knative-broker-parley-default"),
		issuer:            env("OIDC_ISSUER", "http://127.0.0.1:8080"),
		discoveryURL:      os.Getenv("OIDC_DISCOVERY_URL"),
		audience:          env("OIDC_AUDIENCE", "parley"),
		ketoRead:          env("KETO_READ_URL", "http://127.0.0.1:4466"),
		ketoWrite:         env("KETO_WRITE_URL", "http://127.0.0.1:4467"),
		rulesFile:         os.Getenv("RULES_FILE"),
		keyEncryptionKey:  []byte(os.Getenv("IDENTITY_KEY_ENCRYPTION_KEY")),
		keyPublishDelay:   delay,
		admins:            list(os.Getenv("IDENTITY_ADMIN_USERNAMES")),
		trustForwardedFor: os.Getenv("TRUST_FORWARDED_FOR") != "false",
	}, nil
}

// app is the wired function and the clients it owns.
type app struct {
	fn      *identity.Function
	handler http.Handler
	pool    *pgxpool.Pool
	redis   *goredis.Client
	pub     *kafka.Writer
}

func (a *app) ready(ctx context.Context) error {
	if err := a.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return a.redis.Ping(ctx).Err()
}

func (a *app) close() {
	_ = a.pub.Close()
	_ = a.redis.Close()
	a.pool.Close()
}

func build(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.databaseURL})
	if err != nil {
		return nil, err
	}
	a := &app{pool: pool}
	fail := func(err error) (*app, error) {
		if a.pub != nil {
			_ = a.pub.Close()
		}
		if a.redis != nil {
			_ = a.redis.Close()
		}
		pool.Close()
		return nil, err
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		return fail(err)
	}
	if a.redis, err = redis.Open(ctx, redis.Config{Addr: cfg.redisAddr, Prefix: cfg.redisPrefix}); err != nil {
		return fail(err)
	}
	if a.pub, err = kafka.NewWriter(kafka.Config{Brokers: cfg.kafka}); err != nil {
		return fail(err)
	}
	kc, err := keto.New(keto.Config{ReadURL: cfg.ketoRead, WriteURL: cfg.ketoWrite, Log: log})
	if err != nil {
		return fail(err)
	}
	fallbacks := auth.Fallbacks{}
	g, err := auth.NewGuard(ctx, auth.GuardConfig{
		Issuer: cfg.issuer, DiscoveryURL: cfg.discoveryURL, Audience: cfg.audience, RulesFile: cfg.rulesFile,
		Redis: a.redis, RedisPrefix: cfg.redisPrefix, Keto: kc, Fallback: fallbacks,
		UserLimit: ratelimit.PerSecond(100, 200), IPLimit: ratelimit.PerSecond(2000, 4000),
		TrustForwardedFor: cfg.trustForwardedFor,
		WriteError:        func(w http.ResponseWriter, r *http.Request, err error) { serve.WriteError(w, r, log, err) },
		Log:               log,
	})
	if err != nil {
		return fail(err)
	}
	a.fn, err = identity.New(ctx, identity.Config{
		Issuer: cfg.issuer, Audience: cfg.audience, KeyPublishDelay: cfg.keyPublishDelay,
		KeyEncryptionKey: cfg.keyEncryptionKey, AdminUsernames: cfg.admins, TrustForwardedFor: cfg.trustForwardedFor,
	}, identity.Deps{
		Pool: pool, Outbox: postgres.NewOutbox(pool, a.pub, cfg.brokerTopic, log), Revocations: g.Revocations,
		Tickets: g.Tickets, Limiter: g.Limiter, Roles: kc, Authorizer: g.Authorizer, Log: log,
	})
	if err != nil {
		return fail(err)
	}
	fallbacks[keto.NamespaceSystem] = a.fn.BanFallback()
	if a.handler, err = serve.Mount(ctx, serve.Options{Log: log, Guard: g.Middleware}, a.fn.Routes, nil); err != nil {
		return fail(err)
	}
	return a, nil
}
