// Package httpserver runs one HTTP server the way every Parley process needs: explicit timeouts,
// /healthz and /readyz, and a graceful drain on shutdown (Knative's drainer: readiness turns false,
// in-flight requests finish, then the listener closes).
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"knative.dev/pkg/network/handlers"
)

// Config of one server. Zero values take the documented defaults.
type Config struct {
	Addr string // listen address, e.g. "127.0.0.1:8080"
	// ReadHeaderTimeout bounds slow clients; default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout / WriteTimeout bound one request; defaults 30s / 30s. A WebSocket server sets both to 0
	// and handles its own deadlines.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// IdleTimeout for keep-alive connections; default 120s.
	IdleTimeout time.Duration
	// DrainQuiet is how long the server keeps answering after shutdown starts while no request arrives
	// (load balancers stop routing on failed readiness meanwhile); default 1s (tests: set small).
	DrainQuiet time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests; default 25s.
	ShutdownTimeout time.Duration
	// MaxHeaderBytes default 64 KiB.
	MaxHeaderBytes int
	// Name names the server's spans (otelhttp); default "http".
	Name string
	// Metrics, when set, is served on GET /metrics (Prometheus text). The public gateway routes only
	// /v1 paths, so this stays cluster-internal.
	Metrics http.Handler
}

func (c *Config) setDefaults() {
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 5 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.ReadTimeout < 0 {
		c.ReadTimeout = 0
	}
	if c.WriteTimeout < 0 {
		c.WriteTimeout = 0
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.DrainQuiet == 0 {
		c.DrainQuiet = time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 25 * time.Second
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.Name == "" {
		c.Name = "http"
	}
}

// ReadyFunc reports whether the process can serve (its dependencies answer). nil means always ready.
type ReadyFunc func(ctx context.Context) error

// Server is an HTTP server with health endpoints and drain.
type Server struct {
	cfg      Config
	srv      *http.Server
	drainer  *handlers.Drainer
	ln       net.Listener
	draining atomic.Bool
	log      *slog.Logger
}

// New wraps h: /healthz answers 200 while the process lives, /readyz 200 while ready and not draining.
// The listener is opened here so callers know the bound address (Addr may end in :0).
func New(cfg Config, h http.Handler, ready ReadyFunc, log *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	s := &Server{cfg: cfg, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := ready(ctx); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	// Every request joins the caller's W3C trace (traceparent) and gets a span, so log lines written
	// with the request's context carry its trace id.
	mux.Handle("/", otelhttp.NewHandler(h, cfg.Name))
	s.drainer = &handlers.Drainer{Inner: mux, QuietPeriod: cfg.DrainQuiet}
	s.srv = &http.Server{
		Handler:           s.drainer,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	s.ln = ln
	return s, nil
}

// Addr is the bound listen address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// OnShutdown registers f to run when shutdown starts (hijacked connections such as WebSockets are not
// closed by http.Server.Shutdown: their owner must close them here).
func (s *Server) OnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// Run serves until ctx is done, then drains: readiness fails, requests keep being served until the
// quiet period passes with none, then in-flight requests get ShutdownTimeout to finish.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", s.cfg.Addr, err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.drainer.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown %s: %w", s.cfg.Addr, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
