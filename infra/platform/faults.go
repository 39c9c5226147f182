package platform

// Fault injection for the e2e fault tests (docs/configuration.md, "Fault injection"). Two things,
// both local-only:
//
//   - pid files: every supervised child's current pid in DataDir/run/<name>.pid (rewritten when
//     the child is restarted), and the platform's own in DataDir/run/platform.pid;
//   - a control listener (Config.ControlAddr, off by default, loopback addresses only, never the
//     public gateway) whose one fault is a Kafka outage: kfake keeps running with all its data, but
//     every client connection to it (functions, edges, versitygw, and the platform's own ingress
//     and dispatchers) is dropped and new ones are closed as soon as they are accepted, for a while.
//     That is a broker outage as every client sees it, not a restart that loses data: kfake holds
//     everything in memory, so a real restart would lose the topics.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/parley-im/parley/infra/httpserver"
	"github.com/parley-im/parley/infra/platform/supervise"
)

// runDir holds the pid files and the control address.
func (p *Platform) runDir() string { return filepath.Join(p.cfg.DataDir, "run") }

func (p *Platform) pidFile(name string) string { return filepath.Join(p.runDir(), name+".pid") }

// gateListener wraps kfake's listener so the broker can be cut off from every client and brought
// back without losing data: Outage closes every connection it accepted and, until it ends, closes
// new ones at once.
type gateListener struct {
	net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	until time.Time // outage ends then; zero: no outage
}

func newGateListener(ln net.Listener) *gateListener {
	return &gateListener{Listener: ln, conns: map[net.Conn]struct{}{}}
}

func (g *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		if time.Now().Before(g.until) {
			g.mu.Unlock()
			c.Close() // broker "down": the client sees its connection end at once
			continue
		}
		gc := &gateConn{Conn: c, g: g}
		g.conns[gc] = struct{}{}
		g.mu.Unlock()
		return gc, nil
	}
}

// Outage drops every open connection and refuses new ones for d (extends a running outage).
func (g *gateListener) Outage(d time.Duration) time.Time {
	g.mu.Lock()
	until := time.Now().Add(d)
	if until.After(g.until) {
		g.until = until
	}
	conns := g.conns
	g.conns = map[net.Conn]struct{}{}
	until = g.until
	g.mu.Unlock()
	for c := range conns {
		c.(*gateConn).Conn.Close()
	}
	return until
}

// Restore ends an outage now.
func (g *gateListener) Restore() {
	g.mu.Lock()
	g.until = time.Time{}
	g.mu.Unlock()
}

type gateState struct {
	Outage      bool      `json:"outage"`
	Until       time.Time `json:"until,omitzero"`
	Connections int       `json:"connections"`
}

func (g *gateListener) state() gateState {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := gateState{Connections: len(g.conns)}
	if time.Now().Before(g.until) {
		s.Outage, s.Until = true, g.until
	}
	return s
}

type gateConn struct {
	net.Conn
	g    *gateListener
	once sync.Once
}

func (c *gateConn) Close() error {
	c.once.Do(func() {
		c.g.mu.Lock()
		delete(c.g.conns, c)
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}

// startControl writes the platform's pid file and, when Config.ControlAddr is set, serves the
// control listener:
//
//	GET  /processes                      {"functions":{"pid":N,"restarts":N},"edge-0":...}
//	GET  /kafka                          {"outage":bool,"until":...,"connections":N}
//	POST /kafka/outage?duration=5s       start (or extend) a broker outage; 200 with /kafka's answer
//	POST /kafka/restore                  end it now
//
// The chosen address is written to DataDir/run/control.addr (useful with ":0").
func (p *Platform) startControl(context.Context) error {
	if err := supervise.WritePidFile(p.pidFile("platform"), os.Getpid()); err != nil {
		return err
	}
	p.addCloser("platform pid file", func(context.Context) error { return os.Remove(p.pidFile("platform")) })
	if p.cfg.ControlAddr == "" {
		return nil
	}
	if err := loopbackOnly(p.cfg.ControlAddr); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /processes", func(w http.ResponseWriter, _ *http.Request) {
		type proc struct {
			Pid      int `json:"pid"`
			Restarts int `json:"restarts"`
		}
		out := map[string]proc{}
		for _, pr := range p.procs {
			out[pr.Name()] = proc{Pid: pr.Pid(), Restarts: pr.Restarts()}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /kafka", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, p.kafkaGate.state())
	})
	mux.HandleFunc("POST /kafka/outage", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("duration"))
		if err != nil || d <= 0 || d > 10*time.Minute {
			problem(w, http.StatusBadRequest, "invalid_argument", "duration must be a Go duration in (0, 10m]")
			return
		}
		until := p.kafkaGate.Outage(d)
		p.log.Warn("fault injection: kafka outage: every broker connection dropped", "until", until.Format(time.RFC3339Nano))
		writeJSON(w, http.StatusOK, p.kafkaGate.state())
	})
	mux.HandleFunc("POST /kafka/restore", func(w http.ResponseWriter, _ *http.Request) {
		p.kafkaGate.Restore()
		p.log.Warn("fault injection: kafka outage ended")
		writeJSON(w, http.StatusOK, p.kafkaGate.state())
	})
	srv, err := httpserver.New(httpserver.Config{Addr: p.cfg.ControlAddr, DrainQuiet: time.Millisecond,
		ShutdownTimeout: time.Second}, mux, nil, p.log)
	if err != nil {
		return fmt.Errorf("control listener: %w", err)
	}
	if err := os.WriteFile(filepath.Join(p.runDir(), "control.addr"), []byte(srv.Addr()+"\n"), 0o644); err != nil {
		return err
	}
	p.log.Warn("fault-injection control listener is on (local only)", "addr", srv.Addr())
	p.goLoop("control", srv.Run)
	return nil
}

// loopbackOnly refuses a control address that is not a loopback IP (or localhost).
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("CONTROL_ADDR %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("CONTROL_ADDR must be a loopback address (127.0.0.1:port): it controls fault injection")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
