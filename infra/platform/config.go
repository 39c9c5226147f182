package platform

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config of the local platform. Zero values take the defaults documented per field (the same as
// docs/configuration.md); only main reads the environment.
type Config struct {
	// RootDir is the repository root; relative paths below resolve against it. Default ".".
	RootDir string
	// ValuesFile is the routing file; default charts/parley/values.yaml.
	ValuesFile string
	// DataDir holds generated config and versitygw's objects; default .data.
	DataDir string
	// BinDir holds the built programs; default bin.
	BinDir string

	// DatabaseURL of the application database (created if missing);
	// default postgres://postgres@127.0.0.1:5432/parley?sslmode=disable.
	DatabaseURL string
	// KetoDatabase is Keto's database on the same server (created if missing); default parley_keto.
	KetoDatabase string
	// RedisAddr default 127.0.0.1:6379; RedisPrefix (default: the functions' own) is passed on.
	RedisAddr   string
	RedisPrefix string

	// KafkaAddr is where the in-process Kafka (kfake) listens; default 127.0.0.1:9092.
	KafkaAddr string
	// Partitions of every topic the platform creates; default 8.
	Partitions int
	// KafkaRetention: the in-process broker drops records older than this, as a real broker does by
	// retention.ms (Knative's broker topics default to 7 days); default 15m, negative keeps every
	// record. kfake holds every record in memory: measured ~46 MB a minute at 100 msg/s.
	KafkaRetention time.Duration
	// IngressAddr is the broker ingress; default 127.0.0.1:8081.
	IngressAddr string
	// GatewayAddr is the public HTTP API; default 127.0.0.1:8080. PublicURL defaults to http://GatewayAddr.
	GatewayAddr string
	PublicURL   string

	// S3Addr is versitygw's listen address; default 127.0.0.1:7070. S3PublicEndpoint defaults to
	// http://S3Addr.
	S3Addr           string
	S3PublicEndpoint string
	S3AccessKey      string // default parley-dev
	S3SecretKey      string // default parley-dev-secret
	S3Bucket         string // default parley-files
	S3Region         string // default us-east-1

	// Keto ports; defaults 127.0.0.1:4466 (read), :4467 (write), :4469 (OPL), :4468 (metrics).
	KetoReadAddr    string
	KetoWriteAddr   string
	KetoOPLAddr     string
	KetoMetricsAddr string
	// KetoNamespaces is the OPL file; default infra/platform/keto/namespaces.keto.ts.
	KetoNamespaces string

	// RulesFile is passed to functions and edges as RULES_FILE; default infra/platform/rules.yaml.
	RulesFile string
	// Edges is how many socket-edge processes run; default 1 (negative: none).
	Edges int
	// LogLevel is passed to children as LOG_LEVEL; default info.
	LogLevel string
	// ExtraEnv is appended to every child's environment (e.g. LOG_LEVEL=...).
	ExtraEnv []string

	// WebDir holds the built browser client (web/dist) the gateway serves on every GET path no API
	// route takes; default web/dist. A missing build is answered with a 404 saying how to build it.
	WebDir string
	// AllowedOrigins is the browser Origin allow-list, passed to the socket-edges as ALLOWED_ORIGINS
	// (WebSocket upgrades) and its first entry to versitygw as its CORS origin (uploads and downloads
	// with presigned URLs). Default: the origin of PublicURL, plus its localhost spelling when the
	// gateway is on 127.0.0.1 (so the web client the gateway serves is admitted either way).
	AllowedOrigins []string

	// EdgeBasePort is edge-0's port, edge-i listens on EdgeBasePort+i; default the values'
	// socketEdge.localPortBase (8090).
	EdgeBasePort int

	// RandomPorts gives every listener left unset here a free loopback port instead of its fixed
	// default, and functions free ports instead of the values' localPort (a private platform beside
	// `make dev`). An address ending in ":0" picks a free port for that one listener in any case.
	RandomPorts bool
	// ControlAddr, when set, serves the fault-injection control listener (faults.go,
	// docs/configuration.md "Fault injection"); loopback addresses only. Default: off.
	ControlAddr string
	// NoRestart disables restarting children that die (by default they come back with backoff).
	NoRestart bool
	// StopTimeout is how long a child gets between SIGTERM and SIGKILL; default 10s.
	StopTimeout time.Duration
	// Without lists parts not to start even when built: "s3", "keto", "functions", "edges".
	Without []string

	// ChildOutput receives the children's output, each line prefixed by the child's name; default stderr.
	ChildOutput io.Writer
	// Logger for the platform's own logs; default slog.Default().
	Logger *slog.Logger
	// ProfileBasePort, when set, serves Go profiles on loopback: the platform on this port, the
	// functions process on +1, edge-i on +10+i (PPROF_ADDR of each child).
	ProfileBasePort int
	// Metrics, when set, is served on GET /metrics of the broker ingress (cluster-internal, like
	// Knative's data-plane metrics): the dispatchers' deliveries, retries, dead letters and lag.
	Metrics http.Handler
}

func (c *Config) setDefaults() error {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.RootDir, ".")
	root, err := filepath.Abs(c.RootDir)
	if err != nil {
		return err
	}
	c.RootDir = root
	abs := func(p *string, v string) {
		def(p, v)
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(root, *p)
		}
	}
	abs(&c.ValuesFile, "charts/parley/values.yaml")
	abs(&c.DataDir, ".data")
	abs(&c.BinDir, "bin")
	abs(&c.KetoNamespaces, "infra/platform/keto/namespaces.keto.ts")
	abs(&c.RulesFile, "infra/platform/rules.yaml")
	abs(&c.WebDir, "web/dist")
	def(&c.DatabaseURL, "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable")
	def(&c.KetoDatabase, "parley_keto")
	def(&c.RedisAddr, "127.0.0.1:6379")
	// With RandomPorts, an address left empty gets a free port instead of its fixed default.
	addr := func(p *string, port string) {
		if c.RandomPorts {
			port = "0"
		}
		def(p, "127.0.0.1:"+port)
	}
	addr(&c.KafkaAddr, "9092")
	addr(&c.IngressAddr, "8081")
	addr(&c.GatewayAddr, "8080")
	addr(&c.S3Addr, "7070")
	def(&c.S3AccessKey, "parley-dev")
	def(&c.S3SecretKey, "parley-dev-secret")
	def(&c.S3Bucket, "parley-files")
	def(&c.S3Region, "us-east-1")
	addr(&c.KetoReadAddr, "4466")
	addr(&c.KetoWriteAddr, "4467")
	addr(&c.KetoOPLAddr, "4469")
	addr(&c.KetoMetricsAddr, "4468")
	def(&c.LogLevel, "info")
	if c.Partitions == 0 {
		c.Partitions = 8
	}
	if c.Partitions < 0 {
		return fmt.Errorf("partitions must be > 0, got %d", c.Partitions)
	}
	if c.Edges == 0 {
		c.Edges = 1
	}
	if c.KafkaRetention == 0 {
		c.KafkaRetention = 15 * time.Minute
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	for _, w := range c.Without {
		switch w {
		case "s3", "keto", "functions", "edges":
		default:
			return fmt.Errorf("unknown part %q in Without (s3, keto, functions, edges)", w)
		}
	}
	return nil
}

// defaultOrigins is the Origin allow-list for a gateway whose public URL is publicURL: its origin,
// and the same with localhost for 127.0.0.1 (or the other way round).
func defaultOrigins(publicURL string) ([]string, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("public URL %q is not an absolute URL", publicURL)
	}
	origins := []string{u.Scheme + "://" + u.Host}
	port := u.Port()
	if port != "" {
		port = ":" + port
	}
	switch u.Hostname() {
	case "127.0.0.1":
		origins = append(origins, u.Scheme+"://localhost"+port)
	case "localhost":
		origins = append(origins, u.Scheme+"://127.0.0.1"+port)
	}
	return origins, nil
}

func (c *Config) without(part string) bool {
	for _, w := range c.Without {
		if w == part {
			return true
		}
	}
	return false
}

// resolvePort returns addr, with a free port chosen when its port is 0, and fails when a fixed
// port is taken (another platform running): a child would otherwise die on bind, or worse, we would
// talk to somebody else's server. Children are given fixed ports, so a chosen port is released
// just before the child binds it (a race another process could in theory win; it then fails on bind).
//
// A free port is picked below the kernel's ephemeral range: a port from that range (what ":0"
// gives) is released here and bound by the child only later, and in between any outbound
// connection on the machine (a database pool dialing, say) may take it as its local port and hold
// it for as long as it lives, so the child could never bind.
func resolvePort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if port == "0" {
		if ln := listenBelowEphemeral(host); ln != nil {
			defer ln.Close()
			return ln.Addr().String(), nil
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		if port == "0" {
			return "", fmt.Errorf("find a free port on %s: %w", host, err)
		}
		return "", fmt.Errorf("%s is in use (is another platform or `make dev` running? set RANDOM_PORTS=true for a private one): %w", addr, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// listenBelowEphemeral listens on a random free port between 10000 and the start of the ephemeral
// range (nil when none is found in a few tries).
func listenBelowEphemeral(host string) net.Listener {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const base = 10000
	if low <= base+1000 {
		return nil
	}
	for range 50 {
		port := base + rand.IntN(low-base)
		if ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port))); err == nil {
			return ln
		}
	}
	return nil
}
