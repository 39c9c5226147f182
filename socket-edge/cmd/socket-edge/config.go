package main

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/envconf"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/redis"
	"github.com/parley-im/parley/socket-edge/edge"
)

// config is everything the process reads from its environment (keys and defaults: the package
// comment); loadConfig is the one place that reads it.
type config struct {
	addr         string // EDGE_ADDR
	metricsAddr  string // METRICS_ADDR (empty: metrics on addr)
	pprofAddr    string // PPROF_ADDR (empty: no profiles)
	otlpEndpoint string // OTEL_EXPORTER_OTLP_ENDPOINT (empty: no export)
	logLevel     slog.Level
	gogcSet      bool // GOGC is set: leave Go's GC target alone
	redis        redis.Config
	kafka        kafka.Settings
	oidc         auth.OIDC
	keto         keto.Config
	edge         edge.Config
}

// loadConfig reads the environment through getenv (os.Getenv), reporting every malformed setting at
// once. The log level and GOGC come first, so that even a config with an error says how to log it.
func loadConfig(getenv func(string) string) (config, error) {
	env := envconf.New(getenv)
	c := config{gogcSet: getenv("GOGC") != ""}
	_ = c.logLevel.UnmarshalText([]byte(getenv("LOG_LEVEL")))
	c.addr = env.String("EDGE_ADDR", "127.0.0.1:8090")
	c.metricsAddr = env.String("METRICS_ADDR", "")
	c.pprofAddr = env.String("PPROF_ADDR", "")
	c.otlpEndpoint = env.String("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	c.redis = redis.FromEnv(env)
	c.kafka = kafka.FromEnv(env)
	c.oidc = auth.OIDCFromEnv(env)
	c.keto = keto.FromEnv(env)
	c.edge = edge.Config{
		Addr:               c.addr,
		EdgeID:             env.String("EDGE_ID", "edge-0"),
		KafkaBrokers:       c.kafka.Brokers,
		BrokerTopic:        env.String("BROKER_TOPIC", events.TopicBroker),
		DeliveryTopic:      env.String("DELIVERY_TOPIC", events.TopicDelivery),
		RedisPrefix:        c.redis.Prefix,
		AllowedOrigins:     env.List("ALLOWED_ORIGINS"),
		DrainWindow:        env.Duration("DRAIN_WINDOW", 0),
		HeartbeatInterval:  env.Duration("HEARTBEAT_INTERVAL", 0),
		ResendTimeout:      env.Duration("RESEND_TIMEOUT", 0),
		CommandDeadline:    env.Duration("COMMAND_DEADLINE", 0),
		CommandTimeout:     env.Duration("COMMAND_TIMEOUT", 0),
		OutboundQueueBytes: env.PositiveInt("OUTBOUND_QUEUE_BYTES", 0),
		MaxPendingPerConn:  env.PositiveInt("MAX_PENDING_COMMANDS_PER_CONN", 0),
		MaxPendingPerEdge:  env.PositiveInt("MAX_PENDING_COMMANDS", 0),
	}
	c.edge.SendLimitMin = offOr(env, "SEND_LIMIT_MIN", env.PositiveInt)
	c.edge.ShedDeliveryLag = offOr(env, "SHED_DELIVERY_LAG", env.PositiveDuration)
	c.edge.ShedAnswerLatency = offOr(env, "SHED_ANSWER_LATENCY", env.PositiveDuration)
	env.Func("ACK_RATE_LIMIT", func(v string) error {
		r, b, ok := strings.Cut(v, "/")
		rate, err1 := strconv.ParseFloat(r, 64)
		burst, err2 := strconv.ParseFloat(b, 64)
		if !ok || err1 != nil || err2 != nil || rate <= 0 || burst < 1 {
			return errors.New("not rate/burst")
		}
		c.edge.AckRateLimit, c.edge.AckBurst = rate, burst
		return nil
	})
	return c, env.Err()
}

// offOr reads a setting the edge can disable: "off" is -1 (edge.Config's "disabled"), unset is zero
// (its default).
func offOr[T int | time.Duration](env *envconf.Reader, key string, read func(string, T) T) T {
	if env.Off(key) {
		return -1
	}
	return read(key, 0)
}
