// Command socket-edge runs one WebSocket edge instance: config from the environment, edge.New, run
// until SIGTERM, then drain (readiness false, new upgrades 503, clients closed with 1012 over
// DRAIN_WINDOW) and stop.
//
// Environment (defaults in parentheses):
//
//	EDGE_ADDR             listen address (127.0.0.1:8090)
//	EDGE_ID               instance id, unique per instance (edge-0)
//	KAFKA_BROKERS         comma-separated bootstrap brokers (127.0.0.1:9092)
//	BROKER_TOPIC          topic of the Knative broker (knative-broker-parley-default)
//	DELIVERY_TOPIC        topic of the delivery events fanout writes (im.delivery)
//	KAFKA_TLS ...         TLS and SASL to a managed Kafka: KAFKA_TLS, KAFKA_TLS_CA_FILE,
//	                      KAFKA_TLS_SERVER_NAME, KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE,
//	                      KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD,
//	                      KAFKA_AWS_REGION (infra/kafka.FromEnv)
//	REDIS_ADDR            Redis (127.0.0.1:6379)
//	REDIS_PREFIX          Redis key prefix (parley:)
//	REDIS_TLS ...         REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS, REDIS_TLS_CA_FILE,
//	                      REDIS_TLS_SERVER_NAME (infra/redis.FromEnv)
//	OIDC_ISSUER           issuer whose tokens are accepted (http://127.0.0.1:8080); also
//	                      OIDC_AUDIENCE (parley), OIDC_DISCOVERY_URL, OIDC_ALGORITHMS (ES256,RS256)
//	KETO_READ_URL         Keto read API for ban checks (http://127.0.0.1:4466); KETO_WRITE_URL (:4467)
//	ALLOWED_ORIGINS       comma-separated Origin allow-list, or * (empty: same host only)
//	DRAIN_WINDOW          spread of the 1012 closes on shutdown (10s)
//	HEARTBEAT_INTERVAL    server ping interval (25s)
//	OUTBOUND_QUEUE_BYTES  per-connection outbound queue bound (262144)
//	RESEND_TIMEOUT        unacked message push resend timeout (10s)
//	COMMAND_DEADLINE      deadline stamped on published commands, bounds the publish too (1s)
//	COMMAND_TIMEOUT       a frame without answer by then gets "unavailable" (COMMAND_DEADLINE + 0.4s)
//	MAX_PENDING_COMMANDS_PER_CONN  frames awaiting an answer per connection; over: rate_limited (16)
//	MAX_PENDING_COMMANDS  frames awaiting an answer per instance; over: unavailable (2000)
//	SEND_LIMIT_MIN        floor of the adaptive limit on sends in flight per instance; over: unavailable (50; off)
//	SHED_DELIVERY_LAG     shed new sends while message deliveries lag more than this (1s; off)
//	SHED_ANSWER_LATENCY   shed new sends while the mean answer latency is above it (off)
//	ACK_RATE_LIMIT        ack budget per connection, rate/burst per second (500/1000)
//	METRICS_ADDR          serve GET /metrics on this address only, not on EDGE_ADDR (unset: on EDGE_ADDR)
//	LOG_LEVEL             debug|info|warn|error (info)
//	GOGC                  Go GC target; the edge defaults it to 50 (memory budget), not Go's 100
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/parley-im/parley/infra/httpserver"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/otel"
	"github.com/parley-im/parley/infra/redis"
	"github.com/parley-im/parley/socket-edge/edge"
)

func main() {
	cfg, err := loadConfig(os.Getenv)
	if !cfg.gogcSet {
		// The heap is mostly long-lived per-connection state plus short-lived handshake garbage;
		// collecting at +50% instead of +100% keeps an idle connection within the 12 KB RSS budget
		// (measured: 16 KB/conn at the default, 11 KB at 50, memory_test.go).
		debug.SetGCPercent(50)
	}
	log := slog.New(otel.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel})))
	if err == nil {
		err = run(cfg, log)
	}
	if err != nil {
		log.Error("socket-edge stopped", "err", err)
		os.Exit(1)
	}
}

func run(cfg config, log *slog.Logger) error {
	sigctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	tel, err := otel.Setup(sigctx, otel.Config{Service: "socket-edge", OTLPEndpoint: cfg.otlpEndpoint, OTLPInsecure: true})
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.Background()) //nolint:errcheck // best effort flush at exit
	rdb, err := redis.Open(sigctx, cfg.redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if cfg.edge.KafkaSecurity, err = kafka.NewSecurity(sigctx, cfg.kafka.Security); err != nil {
		return err
	}
	log.Info("kafka", "brokers", cfg.edge.KafkaBrokers, "security", cfg.edge.KafkaSecurity.String())
	w, err := kafka.NewWriter(kafka.Config{Brokers: cfg.edge.KafkaBrokers, Security: cfg.edge.KafkaSecurity, BatchTimeout: cfg.kafka.BatchTimeout})
	if err != nil {
		return err
	}
	defer w.Close()
	verifier, tickets, err := newAuth(cfg, rdb, log)
	if err != nil {
		return err
	}
	e, err := edge.New(cfg.edge, edge.Deps{Verifier: verifier, Tickets: tickets,
		Producer: w, Redis: rdb, Log: log, Meter: tel.Meter.Meter(instrumentation), Tracer: tel.Tracer.Tracer(instrumentation)})
	if err != nil {
		return err
	}
	// With METRICS_ADDR the metrics get a listener of their own: the edge's port faces the internet
	// through a load balancer, and nothing but the WebSocket endpoint and the probes belongs there.
	metricsAddr := cfg.metricsAddr
	var metrics, public http.Handler = tel.MetricsHandler(), tel.MetricsHandler()
	if metricsAddr != "" {
		public = nil
	}
	srv, err := httpserver.New(httpserver.Config{Addr: cfg.addr, ReadTimeout: -1, WriteTimeout: -1,
		DrainQuiet: 500 * time.Millisecond, Name: "socket-edge", Metrics: public}, e.Handler(), e.Ready, log)
	if err != nil {
		return err
	}
	var msrv *httpserver.Server
	if metricsAddr != "" {
		if msrv, err = httpserver.New(httpserver.Config{Addr: metricsAddr, Name: "metrics", Metrics: metrics,
			DrainQuiet: 100 * time.Millisecond}, http.NotFoundHandler(), nil, log); err != nil {
			return err
		}
	}
	log.Info("socket-edge listening", "addr", srv.Addr(), "edge", cfg.edge.EdgeID)

	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	errc := make(chan error, 2)
	go func() { errc <- srv.Run(runCtx) }()
	go func() { errc <- e.Run(runCtx) }()
	if msrv != nil {
		go func() {
			if err := msrv.Run(runCtx); err != nil {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	if addr := cfg.pprofAddr; addr != "" {
		go func() {
			if err := httpserver.ServeProfiles(runCtx, addr, log); err != nil {
				log.Error("profiles not served", "err", err)
			}
		}()
	}
	select {
	case <-sigctx.Done():
	case err := <-errc:
		return err
	}
	log.Info("draining", "window", cfg.edge.DrainWindow)
	dctx, cancel := context.WithTimeout(context.Background(), cfg.edge.DrainWindow+5*time.Second)
	derr := e.Drain(dctx)
	cancel()
	cancelRun()
	for range 2 {
		if err := <-errc; err != nil {
			log.Warn("shutdown", "err", err)
		}
	}
	return derr
}

const instrumentation = "github.com/parley-im/parley/socket-edge"
