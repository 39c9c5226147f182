package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/redis"
	"github.com/parley-im/parley/socket-edge/edge"
)

// config is everything the process reads from its environment (keys and defaults: the package
// comment); loadConfig is the one place that reads it.
type config struct {
	addr          string // EDGE_ADDR
	metricsAddr   string // METRICS_ADDR (empty: metrics on addr)
	pprofAddr     string // PPROF_ADDR (empty: no profiles)
	otlpEndpoint  string // OTEL_EXPORTER_OTLP_ENDPOINT (empty: no export)
	logLevel      slog.Level
	gogcSet       bool // GOGC is set: leave Go's GC target alone
	redis         redis.Config
	kafkaSecurity kafka.SecurityConfig
	kafkaBatch    time.Duration // KAFKA_BATCH_TIMEOUT
	issuer        string        // OIDC_ISSUER
	discoveryURL  string        // OIDC_DISCOVERY_URL
	audience      string        // OIDC_AUDIENCE
	algorithms    []string      // OIDC_ALGORITHMS (empty: the verifier's default)
	ketoRead      string        // KETO_READ_URL
	ketoWrite     string        // KETO_WRITE_URL
	edge          edge.Config
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// loadConfig reads the environment. The log level and GOGC are read first, so that even a config
// with an error says how to log it.
func loadConfig() (config, error) {
	c := config{gogcSet: os.Getenv("GOGC") != ""}
	_ = c.logLevel.UnmarshalText([]byte(os.Getenv("LOG_LEVEL")))
	c.addr = env("EDGE_ADDR", "127.0.0.1:8090")
	c.metricsAddr = os.Getenv("METRICS_ADDR")
	c.pprofAddr = os.Getenv("PPROF_ADDR")
	c.otlpEndpoint = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	c.issuer = env("OIDC_ISSUER", "http://127.0.0.1:8080")
	c.discoveryURL = os.Getenv("OIDC_DISCOVERY_URL")
	c.audience = env("OIDC_AUDIENCE", "parley")
	c.algorithms = list(os.Getenv("OIDC_ALGORITHMS"))
	c.ketoRead = env("KETO_READ_URL", "http://127.0.0.1:4466")
	c.ketoWrite = env("KETO_WRITE_URL", "http://127.0.0.1:4467")
	var err error
	if c.redis, err = redis.EnvConfig(os.Getenv); err != nil {
		return c, err
	}
	if c.kafkaSecurity, err = kafka.EnvSecurity(os.Getenv); err != nil {
		return c, err
	}
	if c.kafkaBatch, err = kafka.BatchTimeoutFromEnv(os.Getenv); err != nil {
		return c, err
	}
	c.edge = edge.Config{
		EdgeID:         env("EDGE_ID", "edge-0"),
		KafkaBrokers:   list(env("KAFKA_BROKERS", "127.0.0.1:9092")),
		BrokerTopic:    env("BROKER_TOPIC", events.TopicBroker),
		RedisPrefix:    c.redis.Prefix,
		AllowedOrigins: list(os.Getenv("ALLOWED_ORIGINS")),
	}
	c.edge.Addr = c.addr
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"DRAIN_WINDOW", &c.edge.DrainWindow}, {"HEARTBEAT_INTERVAL", &c.edge.HeartbeatInterval},
		{"RESEND_TIMEOUT", &c.edge.ResendTimeout}, {"COMMAND_DEADLINE", &c.edge.CommandDeadline},
		{"COMMAND_TIMEOUT", &c.edge.CommandTimeout}} {
		if v := os.Getenv(d.key); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil {
				return c, fmt.Errorf("%s: %w", d.key, err)
			}
		}
	}
	for _, n := range []struct {
		key string
		dst *int
	}{{"OUTBOUND_QUEUE_BYTES", &c.edge.OutboundQueueBytes}, {"MAX_PENDING_COMMANDS_PER_CONN", &c.edge.MaxPendingPerConn},
		{"MAX_PENDING_COMMANDS", &c.edge.MaxPendingPerEdge}} {
		if v := os.Getenv(n.key); v != "" {
			if *n.dst, err = strconv.Atoi(v); err != nil || *n.dst <= 0 {
				return c, fmt.Errorf("%s: %q is not a positive integer", n.key, v)
			}
		}
	}
	switch v := os.Getenv("SEND_LIMIT_MIN"); v {
	case "":
	case "off":
		c.edge.SendLimitMin = -1
	default:
		if c.edge.SendLimitMin, err = strconv.Atoi(v); err != nil || c.edge.SendLimitMin <= 0 {
			return c, fmt.Errorf("SEND_LIMIT_MIN: %q is not a positive integer or off", v)
		}
	}
	switch v := os.Getenv("SHED_DELIVERY_LAG"); v {
	case "":
	case "off":
		c.edge.ShedDeliveryLag = -1
	default:
		if c.edge.ShedDeliveryLag, err = time.ParseDuration(v); err != nil || c.edge.ShedDeliveryLag <= 0 {
			return c, fmt.Errorf("SHED_DELIVERY_LAG: %q is not a positive duration or off", v)
		}
	}
	switch v := os.Getenv("SHED_ANSWER_LATENCY"); v {
	case "":
	case "off":
		c.edge.ShedAnswerLatency = -1
	default:
		if c.edge.ShedAnswerLatency, err = time.ParseDuration(v); err != nil || c.edge.ShedAnswerLatency <= 0 {
			return c, fmt.Errorf("SHED_ANSWER_LATENCY: %q is not a positive duration or off", v)
		}
	}
	if v := os.Getenv("ACK_RATE_LIMIT"); v != "" {
		r, b, ok := strings.Cut(v, "/")
		rate, err1 := strconv.ParseFloat(r, 64)
		burst, err2 := strconv.ParseFloat(b, 64)
		if !ok || err1 != nil || err2 != nil || rate <= 0 || burst < 1 {
			return c, fmt.Errorf("ACK_RATE_LIMIT: %q is not rate/burst", v)
		}
		c.edge.AckRateLimit, c.edge.AckBurst = rate, burst
	}
	return c, nil
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
