// Command parley-platform runs Parley on one machine (`make dev`): it checks PostgreSQL and Redis,
// starts an in-process Kafka, versitygw, Keto, the functions process and the socket-edges, and
// stands in for Knative's data plane following charts/parley/values.yaml. Ctrl-C stops everything.
//
// Environment (all optional; docs/configuration.md has the same list):
//
//	DATABASE_URL        postgres://postgres@127.0.0.1:5432/parley?sslmode=disable (database created if missing)
//	KETO_DATABASE       parley_keto (same server as DATABASE_URL; created if missing)
//	REDIS_ADDR          127.0.0.1:6379
//	REDIS_PREFIX        (unset: the programs' default "parley:")
//	KAFKA_ADDR          127.0.0.1:9092   in-process Kafka (kfake)
//	PARTITIONS          8                partitions of every topic created
//	BROKER_INGRESS_ADDR 127.0.0.1:8081   CloudEvents in -> broker topic
//	GATEWAY_ADDR        127.0.0.1:8080   public HTTP API
//	PUBLIC_URL          http://GATEWAY_ADDR (the OIDC issuer)
//	S3_ADDR             127.0.0.1:7070   versitygw
//	S3_PUBLIC_ENDPOINT  http://S3_ADDR   host in presigned URLs
//	S3_ACCESS_KEY       parley-dev
//	S3_SECRET_KEY       parley-dev-secret
//	S3_BUCKET           parley-files
//	S3_REGION           us-east-1
//	KETO_READ_ADDR      127.0.0.1:4466
//	KETO_WRITE_ADDR     127.0.0.1:4467
//	KETO_OPL_ADDR       127.0.0.1:4469
//	KETO_METRICS_ADDR   127.0.0.1:4468
//	EDGES               1                socket-edge processes (edge-i on 127.0.0.1:EDGE_BASE_PORT+i)
//	EDGE_BASE_PORT      8090             (values.yaml socketEdge.localPortBase)
//	RANDOM_PORTS        false            true: every address not set here, and every function, gets a
//	                                     free port (a private platform beside `make dev`)
//	RULES_FILE          infra/platform/rules.yaml
//	VALUES_FILE         charts/parley/values.yaml
//	DATA_DIR            .data
//	BIN_DIR             bin
//	RESTART             true             restart children that die
//	STOP_TIMEOUT        10s              SIGTERM -> SIGKILL for children
//	KAFKA_RETENTION     15m              the in-process broker drops records older than this (-1s: keep all)
//	WITHOUT             (empty)          comma list of parts not to start: s3,keto,functions,edges
//	LOG_LEVEL           info             this process and the children
//	READY_TIMEOUT       3m               how long to wait for every part to be ready
//	PPROF_BASE_PORT     (off)            serve Go profiles on 127.0.0.1: the platform on this port, the
//	                                     functions on +1, edge-i on +10+i (BENCHMARKS.md CPU budget)
//	CONTROL_ADDR        (off)            loopback address of the fault-injection control listener
//	                                     (e2e fault tests; docs/configuration.md "Fault injection")
//	WEB_DIR             web/dist         the built web client the gateway serves on GET / (and any
//	                                     path outside /v1/ and /.well-known/)
//	ALLOWED_ORIGINS     PUBLIC_URL's origin (+ its localhost/127.0.0.1 twin)
//	                                     browser Origin allow-list: the edges' ALLOWED_ORIGINS and
//	                                     versitygw's CORS origin (the first entry)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-im/parley/infra/httpserver"
	"github.com/parley-im/parley/infra/otel"
	"github.com/parley-im/parley/infra/platform"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "parley-platform:", err)
		if errors.Is(err, platform.ErrDependency) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run() error {
	cfg, readyTimeout, err := loadConfig()
	if err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	cfg.Logger = log

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tel, err := otel.Setup(ctx, otel.Config{Service: "parley-platform"})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer tel.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort flush at exit
	cfg.Metrics = tel.MetricsHandler()
	if cfg.ProfileBasePort > 0 {
		go func() {
			if err := httpserver.ServeProfiles(ctx, fmt.Sprintf("127.0.0.1:%d", cfg.ProfileBasePort), log); err != nil {
				log.Error("profiles not served", "err", err)
			}
		}()
	}
	started := time.Now()
	p, err := platform.Start(ctx, cfg)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	if err := p.WaitReady(rctx); err != nil {
		log.Error("not every part became ready (still running; see above)", "err", err)
	} else {
		log.Info("parley platform ready", "in", time.Since(started).Round(time.Millisecond), "api", p.Addrs.PublicURL)
	}
	cancel()
	<-ctx.Done()
	stop() // a second Ctrl-C now kills the process outright
	log.Info("stopping")
	sctx, scancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer scancel()
	return p.Close(sctx)
}

func loadConfig() (platform.Config, time.Duration, error) {
	root, err := repoRoot()
	if err != nil {
		return platform.Config{}, 0, err
	}
	cfg := platform.Config{
		RootDir:          root,
		ValuesFile:       os.Getenv("VALUES_FILE"),
		DataDir:          os.Getenv("DATA_DIR"),
		BinDir:           os.Getenv("BIN_DIR"),
		DatabaseURL:      os.Getenv("DATABASE_URL"),
		KetoDatabase:     os.Getenv("KETO_DATABASE"),
		RedisAddr:        os.Getenv("REDIS_ADDR"),
		RedisPrefix:      os.Getenv("REDIS_PREFIX"),
		KafkaAddr:        os.Getenv("KAFKA_ADDR"),
		IngressAddr:      os.Getenv("BROKER_INGRESS_ADDR"),
		GatewayAddr:      os.Getenv("GATEWAY_ADDR"),
		PublicURL:        os.Getenv("PUBLIC_URL"),
		S3Addr:           os.Getenv("S3_ADDR"),
		S3PublicEndpoint: os.Getenv("S3_PUBLIC_ENDPOINT"),
		S3AccessKey:      os.Getenv("S3_ACCESS_KEY"),
		S3SecretKey:      os.Getenv("S3_SECRET_KEY"),
		S3Bucket:         os.Getenv("S3_BUCKET"),
		S3Region:         os.Getenv("S3_REGION"),
		KetoReadAddr:     os.Getenv("KETO_READ_ADDR"),
		KetoWriteAddr:    os.Getenv("KETO_WRITE_ADDR"),
		KetoOPLAddr:      os.Getenv("KETO_OPL_ADDR"),
		KetoMetricsAddr:  os.Getenv("KETO_METRICS_ADDR"),
		RulesFile:        os.Getenv("RULES_FILE"),
		LogLevel:         os.Getenv("LOG_LEVEL"),
		ControlAddr:      os.Getenv("CONTROL_ADDR"),
		WebDir:           os.Getenv("WEB_DIR"),
	}
	for _, o := range strings.Split(os.Getenv("ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	ints := []struct {
		key string
		dst *int
	}{{"PARTITIONS", &cfg.Partitions}, {"EDGES", &cfg.Edges}, {"EDGE_BASE_PORT", &cfg.EdgeBasePort},
		{"PPROF_BASE_PORT", &cfg.ProfileBasePort}}
	for _, i := range ints {
		if v := os.Getenv(i.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return cfg, 0, fmt.Errorf("%s: %w", i.key, err)
			}
			*i.dst = n
			if i.key == "EDGES" && n == 0 {
				*i.dst = -1 // EDGES=0 means none (the Config's zero value means the default, 1)
			}
		}
	}
	if v := os.Getenv("RANDOM_PORTS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, 0, fmt.Errorf("RANDOM_PORTS: %w", err)
		}
		cfg.RandomPorts = b
	}
	if v := os.Getenv("RESTART"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, 0, fmt.Errorf("RESTART: %w", err)
		}
		cfg.NoRestart = !b
	}
	readyTimeout := 3 * time.Minute
	durs := []struct {
		key string
		dst *time.Duration
	}{{"STOP_TIMEOUT", &cfg.StopTimeout}, {"READY_TIMEOUT", &readyTimeout}, {"KAFKA_RETENTION", &cfg.KafkaRetention}}
	for _, d := range durs {
		if v := os.Getenv(d.key); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				return cfg, 0, fmt.Errorf("%s: %w", d.key, err)
			}
			*d.dst = x
		}
	}
	if v := os.Getenv("WITHOUT"); v != "" {
		for _, w := range strings.Split(v, ",") {
			if w = strings.TrimSpace(w); w != "" {
				cfg.Without = append(cfg.Without, w)
			}
		}
	}
	return cfg, readyTimeout, nil
}

// repoRoot is the nearest directory holding go.work, so the command works from any subdirectory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return dir, nil
		}
	}
}
