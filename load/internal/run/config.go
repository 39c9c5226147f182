// Package run holds the load modes (connect, chat, fanout), their typed configs and validation, and
// the setup phase that creates users and conversations through the public HTTP API.
package run

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Hard bounds: every run is bounded in count and time, whatever the flags say.
const (
	MaxConns      = 100_000
	MaxUsers      = 100_000
	MaxRate       = 50_000
	MaxDuration   = time.Hour
	MaxMembers    = 10_000 // API.md: 10,000 members per group in total
	MaxMessages   = 1_000
	MaxWorkers    = 16
	MaxPerWorker  = 19_000 // 20,000 open files per process, minus headroom
	MaxPingRounds = 10
)

// Common are the settings every mode has.
type Common struct {
	Gateway string   // http://127.0.0.1:8080
	Edges   []string // ws://127.0.0.1:8090/v1/ws, ...
	RunID   string   // names the users load-<run>-<i>
	// Password of every load user; rerunning with the same RunID logs the users in instead of registering.
	Password         string
	SetupConcurrency int
	// AllowRemote permits non-loopback targets. main sets it only inside a Kubernetes pod and with an
	// explicit flag: on a workstation the tool never sends traffic off the machine.
	AllowRemote bool
}

// Validate checks the targets and common bounds.
func (c Common) Validate() error {
	var errs []error
	if err := CheckTarget(c.Gateway, c.AllowRemote, "http", "https"); err != nil {
		errs = append(errs, fmt.Errorf("-gateway: %w", err))
	}
	if len(c.Edges) == 0 {
		errs = append(errs, errors.New("-edges: at least one edge"))
	}
	for _, e := range c.Edges {
		if err := CheckTarget(e, c.AllowRemote, "ws", "wss"); err != nil {
			errs = append(errs, fmt.Errorf("-edges: %w", err))
		}
	}
	if c.RunID == "" || len(c.RunID) > 12 || strings.Trim(c.RunID, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		// load-<run>-<i> must stay within 32 chars of [a-z0-9_.]: "load_" + 12 + "_" + 6 digits.
		errs = append(errs, fmt.Errorf("-run %q: 1-12 of [a-z0-9]", c.RunID))
	}
	if len(c.Password) < 8 {
		errs = append(errs, errors.New("-password: at least 8 characters"))
	}
	if c.SetupConcurrency < 1 || c.SetupConcurrency > 256 {
		errs = append(errs, errors.New("-setup-concurrency: 1..256"))
	}
	return errors.Join(errs...)
}

// CheckTarget accepts a URL of one of the schemes whose host is loopback (127.0.0.0/8, ::1,
// localhost); anything else only when allowRemote. Names other than localhost are refused outright
// on loopback-only runs, so no DNS answer can send traffic elsewhere.
func CheckTarget(raw string, allowRemote bool, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q: %w", raw, err)
	}
	okScheme := false
	for _, s := range schemes {
		okScheme = okScheme || u.Scheme == s
	}
	if !okScheme || u.Host == "" {
		return fmt.Errorf("%q: want a %s URL", raw, strings.Join(schemes, " or "))
	}
	if allowRemote {
		return nil
	}
	if !IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("%q: only loopback targets (127.0.0.0/8, ::1, localhost)", raw)
	}
	return nil
}

// IsLoopbackHost reports whether host is localhost or a loopback IP literal.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ConnectConfig is the connect mode: many authenticated connections, idle or pinging.
type ConnectConfig struct {
	Common
	Conns     int
	Users     int // connections are spread over this many users (each a device of its user)
	PerWorker int // connections per child process
	Sources   int // source addresses 127.0.0.1..127.0.0.<Sources>
	Rate      float64
	Hold      time.Duration
	// PingInterval: every connection sends {"type":"ping"} this often (jittered); 0 sends none, so
	// the connections stay idle (the edge's own WebSocket pings are still answered).
	PingInterval time.Duration
	// PingRounds: measure the edges' memory again after each of this many rounds, where a round is
	// every connection having sent one more ping. Idle memory says nothing of a used connection's
	// buffers.
	PingRounds int
	EdgePIDs   []int
	Metrics    []string // edge metrics URLs (process_resident_memory_bytes)
}

// Workers is the number of child processes the connections need.
func (c ConnectConfig) Workers() int { return (c.Conns + c.PerWorker - 1) / c.PerWorker }

// Validate checks the connect settings.
func (c ConnectConfig) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.Conns < 1 || c.Conns > MaxConns {
		errs = append(errs, fmt.Errorf("-n: 1..%d", MaxConns))
	}
	if c.Users < 1 || c.Users > c.Conns || c.Users > MaxUsers {
		errs = append(errs, errors.New("-users: 1..n"))
	}
	if c.PerWorker < 1 || c.PerWorker > MaxPerWorker {
		errs = append(errs, fmt.Errorf("-per-worker: 1..%d (file descriptor limit)", MaxPerWorker))
	} else if c.Workers() > MaxWorkers {
		errs = append(errs, fmt.Errorf("-n/-per-worker needs %d workers, at most %d", c.Workers(), MaxWorkers))
	}
	if c.Sources < 1 || c.Sources > 254 {
		errs = append(errs, errors.New("-sources: 1..254"))
	}
	if c.Rate <= 0 || c.Rate > MaxRate {
		errs = append(errs, fmt.Errorf("-rate: (0, %d] connections/s", MaxRate))
	}
	if c.Hold < 0 || c.Hold > MaxDuration {
		errs = append(errs, fmt.Errorf("-hold: 0..%s", MaxDuration))
	}
	if c.PingInterval != 0 && (c.PingInterval < time.Second || c.PingInterval > 10*time.Minute) {
		errs = append(errs, errors.New("-ping-interval: 0 (no pings) or 1s..10m"))
	}
	switch {
	case c.PingRounds < 0 || c.PingRounds > MaxPingRounds:
		errs = append(errs, fmt.Errorf("-ping-rounds: 0..%d", MaxPingRounds))
	case c.PingRounds > 0 && c.PingInterval == 0:
		errs = append(errs, errors.New("-ping-rounds needs -ping-interval"))
	case c.PingRounds > 0 && c.Hold < time.Duration(c.PingRounds+1)*c.PingInterval:
		// Round k ends by (k + jitter) intervals after the ramp; one spare interval covers the jitter
		// and the pongs.
		errs = append(errs, fmt.Errorf("-hold: at least (ping-rounds+1) x ping-interval = %s to measure %d rounds", time.Duration(c.PingRounds+1)*c.PingInterval, c.PingRounds))
	}
	for _, m := range c.Metrics {
		if err := CheckTarget(m, c.AllowRemote, "http", "https"); err != nil {
			errs = append(errs, fmt.Errorf("-edge-metrics: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ChatConfig is the chat mode: users in conversations sending at a steady rate.
type ChatConfig struct {
	Common
	Users     int
	Convs     int
	Rate      float64
	Duration  time.Duration
	Transport string // "ws" or "http"
	Grace     time.Duration
	Ack       AckMode
	// CPUDataDir, when set, is the platform's DATA_DIR: the report gets cpu_us_per_msg.<process>.
	CPUDataDir string
}

// Validate checks the chat settings.
func (c ChatConfig) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.Users < 2 || c.Users > MaxUsers {
		errs = append(errs, fmt.Errorf("-users: 2..%d", MaxUsers))
	}
	if c.Convs < 1 || c.Users/max(c.Convs, 1) < 2 {
		errs = append(errs, errors.New("-convs: at least 1, and at least 2 users per conversation"))
	}
	if c.Rate <= 0 || c.Rate > MaxRate {
		errs = append(errs, fmt.Errorf("-rate: (0, %d] messages/s", MaxRate))
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("-duration: (0, %s]", MaxDuration))
	}
	if c.Transport != "ws" && c.Transport != "http" {
		errs = append(errs, errors.New("-transport: ws or http"))
	}
	if c.Grace < 0 || c.Grace > 5*time.Minute {
		errs = append(errs, errors.New("-grace: 0..5m"))
	}
	return errors.Join(errs...)
}

// FanoutConfig is the fanout mode: one big group, all online, one sender.
type FanoutConfig struct {
	Common
	Members  int
	Messages int
	Grace    time.Duration
	Ack      AckMode
}

// Validate checks the fanout settings.
func (c FanoutConfig) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.Members < 2 || c.Members > MaxMembers {
		errs = append(errs, fmt.Errorf("-members: 2..%d", MaxMembers))
	}
	if c.Messages < 1 || c.Messages > MaxMessages {
		errs = append(errs, fmt.Errorf("-messages: 1..%d", MaxMessages))
	}
	if c.Grace <= 0 || c.Grace > 5*time.Minute {
		errs = append(errs, errors.New("-grace: (0, 5m]"))
	}
	return errors.Join(errs...)
}
