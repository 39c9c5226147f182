package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/redis"
)

// config is everything this process reads from its environment (README: configuration).
type config struct {
	listen      map[string]string
	databaseURL string
	redisAddr   string
	redisPrefix string
	kafka       []string
	brokerTopic string
	brokerURL   string
	oidcIssuer  string
	ketoRead    string
	ketoWrite   string
	rulesFile   string
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func loadConfig() (config, error) {
	listen, err := parseListen(os.Getenv("FUNCTIONS_LISTEN"))
	if err != nil {
		return config{}, err
	}
	return config{
		listen:      listen,
		databaseURL: env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable"),
		redisAddr:   env("REDIS_ADDR", "127.0.0.1:6379"),
		redisPrefix: env("REDIS_PREFIX", "parley:"),
		kafka:       splitList(env("KAFKA_BROKERS", "127.0.0.1:9092")),
		brokerTopic: env("BROKER_TOPIC", "knative-broker-parley-default"),
		brokerURL:   env("BROKER_URL", "http://127.0.0.1:8081"),
		oidcIssuer:  env("OIDC_ISSUER", "http://127.0.0.1:8080"),
		ketoRead:    env("KETO_READ_URL", "http://127.0.0.1:4466"),
		ketoWrite:   env("KETO_WRITE_URL", "http://127.0.0.1:4467"),
		rulesFile:   env("RULES_FILE", ""),
	}, nil
}

// deps are the clients every function shares within this process.
type deps struct {
	cfg   config
	log   *slog.Logger
	pool  *pgxpool.Pool
	redis *goredis.Client

	// Built on first use by identity.go's accessors (builders run one after another, before serving):
	// one access layer, Keto client, outbox publisher and fallback registry for the whole process.
	guard     *auth.Guard
	ketoc     *keto.Client
	publisher *kafka.Writer
	fallbacks auth.Fallbacks
}

func newDeps(ctx context.Context, cfg config, log *slog.Logger) (*deps, error) {
	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.databaseURL})
	if err != nil {
		return nil, err
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	rc, err := redis.Open(ctx, redis.Config{Addr: cfg.redisAddr, Prefix: cfg.redisPrefix})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &deps{cfg: cfg, log: log, pool: pool, redis: rc}, nil
}

// ready is every function's readiness: its stores answer.
func (d *deps) ready(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := d.redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

func (d *deps) close() {
	if d.publisher != nil {
		_ = d.publisher.Close()
	}
	_ = d.redis.Close()
	d.pool.Close()
}
