package boot

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/otel"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/redis"
)

// Config is what a functions process reads from its environment: the settings every function
// shares as fields, and each function's own settings (MAX_TEXT_CHARS, REVOKE_WINDOW...) through the
// typed accessors Value, Int, Duration, List and Limit, which the builders in functions/cmd/internal/wire
// call with the setting's documented default. Fill it with Env in a main.
type Config struct {
	Listen       string   // LISTEN_ADDRESS, default ":" + PORT (Knative sets PORT; default 8080)
	DatabaseURL  string   // DATABASE_URL
	Migrate      bool     // MIGRATE=true applies migrations at start (parley-functions always does)
	RedisAddr    string   // REDIS_ADDR
	RedisPrefix  string   // REDIS_PREFIX, default "parley:"
	KafkaBrokers []string // KAFKA_BROKERS, comma list
	// Redis is the whole client config: REDIS_ADDR, REDIS_PREFIX, REDIS_USERNAME, REDIS_PASSWORD,
	// REDIS_TLS, REDIS_TLS_CA_FILE, REDIS_TLS_SERVER_NAME (redis.EnvConfig).
	Redis redis.Config
	// KafkaSecurity: KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_TLS_SERVER_NAME, KAFKA_TLS_CERT_FILE,
	// KAFKA_TLS_KEY_FILE, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD,
	// KAFKA_AWS_REGION (kafka.EnvSecurity).
	KafkaSecurity     kafka.SecurityConfig
	KafkaBatchTimeout time.Duration // KAFKA_BATCH_TIMEOUT (kafka.BatchTimeoutFromEnv), default none
	BrokerTopic       string        // BROKER_TOPIC, default events.TopicBroker
	BrokerURL         string        // BROKER_URL, the broker ingress (default http://127.0.0.1:8081)
	OIDCIssuer        string        // OIDC_ISSUER
	OIDCDiscover      string        // OIDC_DISCOVERY_URL (optional: fetch discovery there instead)
	Audience          string        // OIDC_AUDIENCE, default "parley"
	Algorithms        []string      // OIDC_ALGORITHMS, comma list (empty: the verifier's ES256,RS256)
	KetoRead          string        // KETO_READ_URL
	KetoWrite         string        // KETO_WRITE_URL
	RulesFile         string        // RULES_FILE (empty: built-in rules)
	TrustForwardedFor bool          // TRUST_FORWARDED_FOR, default true ("false" turns it off)
	// The access layer's limits (Guard): RATE_LIMIT_USER and RATE_LIMIT_IP ("rate/burst" per
	// second, "off" disables; defaults 100/200 and 2000/4000), MAX_CONCURRENT (requests in flight
	// per function, default 256).
	UserLimit     ratelimit.Limit
	IPLimit       ratelimit.Limit
	MaxConcurrent uint
	LogLevel      string // LOG_LEVEL, default info
	OTLPEndpoint  string // OTEL_EXPORTER_OTLP_ENDPOINT (host:port): export traces over OTLP/HTTP when set
	ProfileAddr   string // PPROF_ADDR (loopback host:port): serve Go profiles there when set

	// getenv answers the accessors (os.Getenv, passed by a main to Env).
	getenv func(key string) string
	// err is the first malformed setting Env met; New refuses to start with it.
	err error
	// guardErr is the first malformed access-layer limit; only Guard refuses with it, so a
	// function without public routes starts regardless.
	guardErr error
}

// Err is the first malformed setting Env met (nil when all parsed).
func (c Config) Err() error { return c.err }

// Env reads Config through getenv (os.Getenv in a main).
func Env(getenv func(string) string) Config {
	c := Config{getenv: getenv}
	listen := c.Value("LISTEN_ADDRESS", "")
	if listen == "" {
		listen = ":" + c.Value("PORT", "8080")
	}
	c.Listen = listen
	c.DatabaseURL = c.Value("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable")
	c.Migrate = c.Value("MIGRATE", "") == "true"
	var rerr, kerr, berr error
	c.Redis, rerr = redis.EnvConfig(c.Getenv)
	c.RedisAddr, c.RedisPrefix = c.Redis.Addr, c.Redis.Prefix
	c.KafkaBrokers = splitList(c.Value("KAFKA_BROKERS", "127.0.0.1:9092"))
	c.KafkaSecurity, kerr = kafka.EnvSecurity(c.Getenv)
	c.KafkaBatchTimeout, berr = kafka.BatchTimeoutFromEnv(c.Getenv)
	c.err = errors.Join(rerr, kerr, berr)
	c.BrokerTopic = c.Value("BROKER_TOPIC", events.TopicBroker)
	c.BrokerURL = c.Value("BROKER_URL", "http://127.0.0.1:8081")
	c.OIDCIssuer = c.Value("OIDC_ISSUER", "http://127.0.0.1:8080")
	c.OIDCDiscover = c.Value("OIDC_DISCOVERY_URL", "")
	c.Audience = c.Value("OIDC_AUDIENCE", "parley")
	c.Algorithms = c.List("OIDC_ALGORITHMS")
	c.KetoRead = c.Value("KETO_READ_URL", "http://127.0.0.1:4466")
	c.KetoWrite = c.Value("KETO_WRITE_URL", "http://127.0.0.1:4467")
	c.RulesFile = c.Value("RULES_FILE", "")
	c.TrustForwardedFor = c.Value("TRUST_FORWARDED_FOR", "") != "false"
	c.LogLevel = c.Value("LOG_LEVEL", "")
	c.OTLPEndpoint = c.Value("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	c.ProfileAddr = c.Value("PPROF_ADDR", "")
	c.UserLimit, c.guardErr = c.Limit("RATE_LIMIT_USER", ratelimit.PerSecond(100, 200))
	var ierr error
	if c.IPLimit, ierr = c.Limit("RATE_LIMIT_IP", ratelimit.PerSecond(2000, 4000)); c.guardErr == nil {
		c.guardErr = ierr
	}
	if n, err := strconv.ParseUint(c.Value("MAX_CONCURRENT", "256"), 10, 32); err != nil {
		if c.guardErr == nil {
			c.guardErr = fmt.Errorf("MAX_CONCURRENT: %w", err)
		}
	} else {
		c.MaxConcurrent = uint(n)
	}
	return c
}

// Getenv is the raw lookup behind the accessors. It answers "" for everything on a Config not
// made by Env.
func (c Config) Getenv(key string) string {
	if c.getenv == nil {
		return ""
	}
	return c.getenv(key)
}

// Value returns the setting key, or def when unset.
func (c Config) Value(key, def string) string {
	if v := c.Getenv(key); v != "" {
		return v
	}
	return def
}

// Int returns the integer setting key, or def when unset or malformed.
func (c Config) Int(key string, def int) int {
	var v int
	if _, err := fmt.Sscan(c.Getenv(key), &v); err != nil {
		return def
	}
	return v
}

// Duration returns the duration setting key, def when unset; a malformed value is an error.
func (c Config) Duration(key string, def time.Duration) (time.Duration, error) {
	v := c.Getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

// List returns the comma-list setting key, blanks dropped (nil when unset).
func (c Config) List(key string) []string { return splitList(c.Getenv(key)) }

// Limit returns the rate-limit setting key, "rate/burst" per second, or "off" (the zero Limit:
// unlimited); def when unset; anything else is an error.
func (c Config) Limit(key string, def ratelimit.Limit) (ratelimit.Limit, error) {
	v := c.Getenv(key)
	switch v {
	case "":
		return def, nil
	case "off":
		return ratelimit.Limit{}, nil
	}
	r, b, ok := strings.Cut(v, "/")
	rate, err1 := strconv.Atoi(r)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate <= 0 || burst <= 0 {
		return def, fmt.Errorf("%s: %q is not rate/burst", key, v)
	}
	return ratelimit.PerSecond(rate, burst), nil
}

// Logger is the process's JSON logger on stderr, at LogLevel (info when unset or unknown).
func (c Config) Logger() *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		l = slog.LevelInfo
	}
	// Lines logged with a request's or a record's context carry its trace id.
	return slog.New(otel.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
}

// splitList splits a comma list, trimming blanks and dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
