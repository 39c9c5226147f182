// Package platform is the local stand-in for Parley's cluster (DESIGN section 6): it checks
// PostgreSQL and Redis, runs an in-process Kafka (kfake), versitygw (S3), Ory Keto, the functions
// process and the socket-edges as supervised children, and Knative's data plane in process (broker
// ingress, one dispatcher per Trigger and KafkaSource, PingSources) following the routing in
// charts/parley/values.yaml, behind a gateway that serves the public HTTP API.
//
// It is both the `parley-platform` command (`make dev`) and a library for tests:
//
//	p, err := platform.Start(ctx, platform.Config{RandomPorts: true, DataDir: t.TempDir()})
//	defer p.Close(context.Background())
//	err = p.WaitReady(ctx)          // p.Addrs.PublicURL is the API, p.Addrs.Edges the WebSockets
//
// A part whose program is not built (bin/...) is logged and left out, never faked; readiness
// covers the parts that were started. Fault injection for the e2e fault tests (pid files, a
// loopback-only control listener that can take the broker away) is in faults.go.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/parley-im/parley/infra/httpserver"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/platform/eventing"
	"github.com/parley-im/parley/infra/platform/routing"
	"github.com/parley-im/parley/infra/platform/supervise"
	"github.com/parley-im/parley/infra/webui"
)

// Addrs are where the running parts listen.
type Addrs struct {
	Gateway      string // host:port of the public HTTP API
	PublicURL    string // http://Gateway, also the OIDC issuer
	Ingress      string
	IngressURL   string // BROKER_URL
	Kafka        string
	S3           string
	S3URL        string
	S3PublicURL  string
	KetoRead     string
	KetoWrite    string
	KetoReadURL  string
	KetoWriteURL string
	Functions    map[string]string // function name -> host:port
	Edges        []string          // socket-edge host:port, edge-0 first
}

// Platform is a running local platform.
type Platform struct {
	Addrs Addrs

	cfg    Config
	values *routing.Values
	log    *slog.Logger
	out    *supervise.LineWriter
	probe  *http.Client

	ketoOPL, ketoMetrics string

	kafka     *kfake.Cluster
	kafkaGate *gateListener
	writer    *kafka.Writer

	procs     []*supervise.Proc
	functions *supervise.Proc
	edges     []*supervise.Proc

	closers []closer // in start order; Close runs them in reverse
	gateway lateHandler

	started atomic.Bool // every part launched: until then the platform is not ready
	mu      sync.Mutex
	checks  []check
	closed  bool
}

type closer struct {
	name string
	fn   func(ctx context.Context) error
}

type check struct {
	name string
	fn   func(ctx context.Context) error
}

// Start checks the dependencies and starts every part. On error nothing is left running.
func Start(ctx context.Context, cfg Config) (_ *Platform, err error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	values, err := routing.Load(cfg.ValuesFile)
	if err != nil {
		return nil, err
	}
	if err := checkDependencies(ctx, cfg); err != nil {
		return nil, err
	}
	dbName, err := databaseName(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := ensureDatabase(ctx, cfg.DatabaseURL, dbName); err != nil {
		return nil, err
	}
	p := &Platform{
		cfg: cfg, values: values, log: cfg.Logger, out: supervise.NewLineWriter(cfg.ChildOutput),
		probe: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
	}
	defer func() {
		if err != nil {
			_ = p.Close(context.Background())
		}
	}()
	if err := p.resolveAddrs(); err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"kafka", p.startKafka},
		{"gateway listener", p.listenGateway},
		{"s3", p.startS3Part},
		{"keto", p.startKetoPart},
		{"ingress", p.startIngress},
		{"functions", p.startFunctions},
		{"edges", p.startEdges},
		{"eventing", p.startEventing},
		{"gateway routes", p.routeGateway},
		{"control", p.startControl},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("start %s: %w", s.name, err)
		}
	}
	p.started.Store(true)
	p.logAddrs()
	return p, nil
}

func (p *Platform) resolveAddrs() error {
	c := p.cfg
	var err error
	// A chosen free port is released until its child binds it, so a later pick could choose it
	// again: every address handed out is remembered and a repeat is picked anew.
	used := map[string]bool{}
	pick := func(addr string) string {
		if err != nil {
			return ""
		}
		for range 20 {
			var a string
			if a, err = resolvePort(addr); err != nil {
				return ""
			}
			if !used[a] {
				used[a] = true
				return a
			}
			if !strings.HasSuffix(addr, ":0") {
				err = fmt.Errorf("%s is configured for two parts", a)
				return ""
			}
		}
		err = fmt.Errorf("no unused free port for %s", addr)
		return ""
	}
	// Edges first: their ports may be a fixed run (EDGE_BASE_PORT) that random picks must avoid.
	base := c.EdgeBasePort
	if base == 0 {
		base = p.values.SocketEdge.LocalPortBase
	}
	if base == 0 {
		base = 8090
	}
	for i := 0; i < c.Edges; i++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i))
		if c.RandomPorts && c.EdgeBasePort == 0 {
			addr = "127.0.0.1:0"
		}
		p.Addrs.Edges = append(p.Addrs.Edges, pick(addr))
	}
	p.Addrs.S3 = pick(c.S3Addr)
	p.Addrs.KetoRead = pick(c.KetoReadAddr)
	p.Addrs.KetoWrite = pick(c.KetoWriteAddr)
	p.ketoOPL = pick(c.KetoOPLAddr)
	p.ketoMetrics = pick(c.KetoMetricsAddr)
	p.Addrs.Functions = map[string]string{}
	for _, f := range p.values.Functions {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(f.LocalPort))
		if c.RandomPorts {
			addr = "127.0.0.1:0"
		}
		p.Addrs.Functions[f.Name] = pick(addr)
	}
	if err != nil {
		return err
	}
	p.Addrs.S3URL = "http://" + p.Addrs.S3
	p.Addrs.S3PublicURL = c.S3PublicEndpoint
	if p.Addrs.S3PublicURL == "" {
		p.Addrs.S3PublicURL = p.Addrs.S3URL
	}
	return nil
}

// built reports whether bin exists; when not, it logs that the part runs without it.
func (p *Platform) built(bin, part, how string) bool {
	if _, err := os.Stat(bin); err != nil {
		p.log.Warn(part+" is not built: running without it", "missing", bin, "build", how)
		return false
	}
	return true
}

// applyRetention drops records older than r from c every quarter of r (at most every
// minute): kfake applies log.retention.ms on its own only to topics created with a retention
// config, and otherwise keeps every record in memory for good. It returns the stop function.
func applyRetention(c *kfake.Cluster, r time.Duration) (stop func()) {
	if r <= 0 {
		return func() {}
	}
	t := time.NewTicker(min(r/4, time.Minute))
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.ApplyRetention()
			}
		}
	}()
	return func() { t.Stop(); close(done) }
}

func (p *Platform) addCloser(name string, fn func(context.Context) error) {
	p.closers = append(p.closers, closer{name: name, fn: fn})
}

func (p *Platform) addCheck(name string, fn func(context.Context) error) {
	p.mu.Lock()
	p.checks = append(p.checks, check{name: name, fn: fn})
	p.mu.Unlock()
}

// goLoop runs fn until Close reaches it.
func (p *Platform) goLoop(name string, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			p.log.Error(name+" stopped", "err", err)
		}
	}()
	p.addCloser(name, func(sctx context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-sctx.Done():
			return fmt.Errorf("%s: %w", name, sctx.Err())
		}
	})
}

func (p *Platform) startKafka(ctx context.Context) error {
	host, port, err := net.SplitHostPort(p.cfg.KafkaAddr)
	if err != nil {
		return err
	}
	// kfake serves through a gate (faults.go) so the control listener can take the broker away
	// from every client and bring it back with its data.
	listen := func(network, _ string) (net.Listener, error) {
		ln, err := net.Listen(network, net.JoinHostPort(host, port))
		if err != nil {
			return nil, err
		}
		p.kafkaGate = newGateListener(ln)
		return p.kafkaGate, nil
	}
	n, _ := strconv.Atoi(port)
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(n), kfake.ListenFn(listen)}
	if r := p.cfg.KafkaRetention; r > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{"log.retention.ms": strconv.FormatInt(r.Milliseconds(), 10)}))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("kfake on %s (is another platform running?): %w", p.cfg.KafkaAddr, err)
	}
	p.kafka = c
	stopRetention := applyRetention(c, p.cfg.KafkaRetention)
	p.addCloser("kafka", func(context.Context) error { stopRetention(); c.Close(); return nil })
	p.Addrs.Kafka = c.ListenAddrs()[0]
	brokers := []string{p.Addrs.Kafka}
	v := p.values
	topics := []string{v.Broker.Topic, v.Topics.Delivery, v.Topics.S3Events, v.Topics.Delivery + ".dlq"}
	for _, s := range v.KafkaSinks {
		topics = append(topics, s.Topic)
	}
	for _, s := range v.Sources {
		topics = append(topics, s.Topics...)
	}
	if err := kafka.EnsureTopics(ctx, kafka.Cluster{Brokers: brokers}, p.cfg.Partitions, dedupe(topics)...); err != nil {
		return err
	}
	w, err := kafka.NewWriter(kafka.Config{Brokers: brokers})
	if err != nil {
		return err
	}
	p.writer = w
	p.addCloser("kafka writer", func(context.Context) error { return w.Close() })
	p.addCheck("kafka", func(ctx context.Context) error {
		_, err := kafka.Partitions(ctx, kafka.Cluster{Brokers: brokers}, v.Broker.Topic)
		return err
	})
	return nil
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (p *Platform) startS3Part(ctx context.Context) error {
	if p.cfg.without("s3") {
		return nil
	}
	return p.startS3(ctx)
}

func (p *Platform) startKetoPart(ctx context.Context) error {
	if p.cfg.without("keto") {
		return nil
	}
	if err := ensureDatabase(ctx, p.cfg.DatabaseURL, p.cfg.KetoDatabase); err != nil {
		return err
	}
	dsn, err := withDatabase(p.cfg.DatabaseURL, p.cfg.KetoDatabase)
	if err != nil {
		return err
	}
	return p.startKeto(ctx, dsn)
}

func (p *Platform) startIngress(context.Context) error {
	in := &eventing.Ingress{Topic: p.values.Broker.Topic, Publisher: p.writer, Log: p.log.With("part", "ingress")}
	srv, err := httpserver.New(httpserver.Config{Addr: p.cfg.IngressAddr, DrainQuiet: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second, Metrics: p.cfg.Metrics}, in, nil, p.log)
	if err != nil {
		return err
	}
	p.Addrs.Ingress = srv.Addr()
	p.Addrs.IngressURL = "http://" + srv.Addr()
	p.goLoop("ingress", srv.Run)
	return nil
}

// profileEnv is the PPROF_ADDR of the child at offset from ProfileBasePort ("" when profiles are off:
// an empty entry sets nothing).
func (p *Platform) profileEnv(offset int) string {
	if p.cfg.ProfileBasePort == 0 {
		return "PPROF_ADDR="
	}
	return fmt.Sprintf("PPROF_ADDR=127.0.0.1:%d", p.cfg.ProfileBasePort+offset)
}

// childEnv is the environment every function and edge gets (docs/configuration.md).
func (p *Platform) childEnv() []string {
	env := append(os.Environ(),
		"DATABASE_URL="+p.cfg.DatabaseURL,
		"REDIS_ADDR="+p.cfg.RedisAddr,
		"KAFKA_BROKERS="+p.Addrs.Kafka,
		// The in-process broker is plaintext: a managed Kafka's TLS/SASL settings in the shell
		// must not reach the children (the last value of a key wins).
		"KAFKA_TLS=false", "KAFKA_TLS_CA_FILE=", "KAFKA_TLS_SERVER_NAME=", "KAFKA_TLS_CERT_FILE=",
		"KAFKA_TLS_KEY_FILE=", "KAFKA_SASL_MECHANISM=", "KAFKA_SASL_USERNAME=", "KAFKA_SASL_PASSWORD=",
		"BROKER_TOPIC="+p.values.Broker.Topic,
		"DELIVERY_TOPIC="+p.values.Topics.Delivery,
		"BROKER_URL="+p.Addrs.IngressURL,
		"OIDC_ISSUER="+p.Addrs.PublicURL,
		"KETO_READ_URL="+p.Addrs.KetoReadURL,
		"KETO_WRITE_URL="+p.Addrs.KetoWriteURL,
		"S3_ENDPOINT="+p.Addrs.S3URL,
		"S3_PUBLIC_ENDPOINT="+p.Addrs.S3PublicURL,
		"S3_BUCKET="+p.cfg.S3Bucket,
		"S3_REGION="+p.cfg.S3Region,
		"S3_ACCESS_KEY="+p.cfg.S3AccessKey,
		"S3_SECRET_KEY="+p.cfg.S3SecretKey,
		"RULES_FILE="+p.cfg.RulesFile,
		"LOG_LEVEL="+p.cfg.LogLevel,
	)
	if p.cfg.RedisPrefix != "" {
		env = append(env, "REDIS_PREFIX="+p.cfg.RedisPrefix)
	}
	return append(env, p.cfg.ExtraEnv...)
}

func (p *Platform) startFunctions(context.Context) error {
	if p.cfg.without("functions") {
		return nil
	}
	bin := filepath.Join(p.cfg.BinDir, "parley-functions")
	if !p.built(bin, "functions (parley-functions)", "make build") {
		return nil
	}
	var listen []string
	for _, f := range p.values.Functions {
		listen = append(listen, f.Name+"="+p.Addrs.Functions[f.Name])
	}
	proc, err := supervise.Start(supervise.Spec{
		Name: "functions", Path: bin, Env: append(p.childEnv(), "FUNCTIONS_LISTEN="+strings.Join(listen, ","), p.profileEnv(1)),
		Restart: !p.cfg.NoRestart, StopTimeout: p.cfg.StopTimeout, PidFile: p.pidFile("functions"),
	}, p.out, p.log)
	if err != nil {
		return err
	}
	p.functions = proc
	p.procs = append(p.procs, proc)
	p.addCloser("functions", proc.Stop)
	fr := &functionReadiness{log: p.log, proc: proc, probe: p.probe, state: map[string]int{}}
	for _, f := range p.values.Functions {
		url := "http://" + p.Addrs.Functions[f.Name] + "/readyz"
		p.addCheck("function "+f.Name, func(ctx context.Context) error { return fr.check(ctx, f.Name, url) })
	}
	return nil
}

// functionReadiness probes each function's /readyz. parley-functions skips (and logs) functions not
// built into it yet; such a function's port is never opened. Once the process serves other
// functions and has run for a while, a port that refuses connections is taken as "not built":
// logged once and left out of readiness, like any other part that is not built.
type functionReadiness struct {
	log   *slog.Logger
	proc  *supervise.Proc
	probe *http.Client

	mu    sync.Mutex
	state map[string]int // 1 served, 2 absent
	since time.Time      // first time any function answered
}

// notBuiltAfter is how long after the first function answered a refusing port counts as absent.
const notBuiltAfter = 3 * time.Second

func (fr *functionReadiness) check(ctx context.Context, name, url string) error {
	err := httpOK(ctx, fr.probe, url)
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if err == nil {
		fr.state[name] = 1
		if fr.since.IsZero() {
			fr.since = time.Now()
		}
		return nil
	}
	if fr.state[name] == 2 {
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return err // it listens now but is not ready: count it again
		}
		return nil
	}
	if fr.state[name] == 0 && errors.Is(err, syscall.ECONNREFUSED) && !fr.since.IsZero() &&
		time.Since(fr.since) > notBuiltAfter {
		fr.state[name] = 2
		fr.log.Warn("function is not served by parley-functions (not built into it?): left out of readiness",
			"function", name, "url", url)
		return nil
	}
	return err
}

func (p *Platform) startEdges(context.Context) error {
	if p.cfg.without("edges") || len(p.Addrs.Edges) == 0 {
		p.Addrs.Edges = nil
		return nil
	}
	bin := filepath.Join(p.cfg.BinDir, "socket-edge")
	if !p.built(bin, "socket-edge", "make build") {
		p.Addrs.Edges = nil
		return nil
	}
	for i, addr := range p.Addrs.Edges {
		id := fmt.Sprintf("edge-%d", i)
		proc, err := supervise.Start(supervise.Spec{
			Name: id, Path: bin, Env: append(p.childEnv(), "EDGE_ADDR="+addr, "EDGE_ID="+id, p.profileEnv(10+i),
				"ALLOWED_ORIGINS="+strings.Join(p.cfg.AllowedOrigins, ",")),
			Restart: !p.cfg.NoRestart, StopTimeout: p.cfg.StopTimeout, PidFile: p.pidFile(id),
		}, p.out, p.log)
		if err != nil {
			return err
		}
		p.edges = append(p.edges, proc)
		p.procs = append(p.procs, proc)
		url := "http://" + addr + "/readyz"
		p.addCheck(id, func(ctx context.Context) error { return httpOK(ctx, p.probe, url) })
	}
	edges := p.edges
	// Edges drain together, not one after another.
	p.addCloser("edges", func(ctx context.Context) error {
		errs := make([]error, len(edges))
		var wg sync.WaitGroup
		for i, e := range edges {
			wg.Go(func() { errs[i] = e.Stop(ctx) })
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	return nil
}

func (p *Platform) deliveryOf(d routing.Delivery) (eventing.Delivery, error) {
	dp, err := d.Parse()
	if err != nil {
		return eventing.Delivery{}, err
	}
	return eventing.Delivery{Retry: dp.Retry, Linear: !dp.Exponential, BackoffDelay: dp.BackoffDelay,
		Timeout: dp.Timeout, DeadLetterTopic: p.values.SinkTopic(dp.DeadLetterSink)}, nil
}

// startEventing runs the Knative data plane: it needs the functions it delivers to.
func (p *Platform) startEventing(context.Context) error {
	if p.functions == nil {
		if len(p.values.Triggers)+len(p.values.Sources)+len(p.values.PingSources) > 0 {
			p.log.Warn("functions are not running: triggers, sources and ping sources are not started")
		}
		return nil
	}
	v := p.values
	// Every trigger and source reads through one shared tail per partition (kafka.Tails): seven
	// triggers on the broker topic fetched each record seven times.
	tails := kafka.NewTails(kafka.TailsConfig{Brokers: []string{p.Addrs.Kafka}, Logger: p.log.With("part", "eventing")})
	p.addCloser("shared tails", func(context.Context) error { tails.Close(); return nil })
	deps := eventing.Deps{Brokers: []string{p.Addrs.Kafka}, Tails: tails, Publisher: p.writer, Log: p.log.With("part", "eventing")}
	url := func(fn string) string { return "http://" + p.Addrs.Functions[fn] + "/" }
	for _, t := range v.Triggers {
		del, err := p.deliveryOf(t.Delivery)
		if err != nil {
			return err
		}
		d, err := eventing.NewDispatcher(eventing.Subscription{
			Name: t.Name, Namespace: v.Namespace, Topics: []string{v.Broker.Topic},
			GroupID: "knative-trigger-" + v.Namespace + "-" + t.Name, Types: t.Types, Attributes: t.Attributes,
			Subscriber: url(t.Subscriber),
			Ordered:    t.Ordering == routing.Ordered, Delivery: del, ReplyTopic: v.Broker.Topic,
		}, deps)
		if err != nil {
			return err
		}
		p.goLoop("trigger "+t.Name, d.Run)
	}
	for _, s := range v.Sources {
		del, err := p.deliveryOf(s.Delivery)
		if err != nil {
			return err
		}
		start := kafka.FirstOffset
		if s.InitialOffset == "latest" {
			start = kafka.LastOffset
		}
		d, err := eventing.NewDispatcher(eventing.Subscription{
			Name: s.Name, Namespace: v.Namespace, Topics: s.Topics, GroupID: s.ConsumerGroup, StartOffset: start,
			Subscriber: url(s.Sink), Ordered: s.Ordering == routing.Ordered, Delivery: del, Source: true,
		}, deps)
		if err != nil {
			return err
		}
		p.goLoop("source "+s.Name, d.Run)
	}
	for _, ps := range v.PingSources {
		ping := &eventing.Ping{Name: ps.Name, Namespace: v.Namespace, Sink: url(ps.Sink), Schedule: ps.Schedule,
			ContentType: ps.ContentType, Data: ps.Data, Deps: deps, Delivery: eventing.Delivery{Timeout: 30 * time.Second}}
		if ps.LocalInterval != "" {
			ping.Interval, _ = time.ParseDuration(ps.LocalInterval) // validated with the values
		}
		p.goLoop("pingsource "+ps.Name, ping.Run)
	}
	return nil
}

// listenGateway opens the public listener first: children need its URL (the OIDC issuer) before
// they start, while the routes are installed last, once the parts behind them are known.
func (p *Platform) listenGateway(context.Context) error {
	srv, err := httpserver.New(httpserver.Config{Addr: p.cfg.GatewayAddr, DrainQuiet: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second, ReadTimeout: -1, WriteTimeout: -1}, &p.gateway, p.Ready, p.log)
	if err != nil {
		return err
	}
	p.Addrs.Gateway = srv.Addr()
	p.Addrs.PublicURL = p.cfg.PublicURL
	if p.Addrs.PublicURL == "" {
		p.Addrs.PublicURL = "http://" + srv.Addr()
	}
	if len(p.cfg.AllowedOrigins) == 0 {
		if p.cfg.AllowedOrigins, err = defaultOrigins(p.Addrs.PublicURL); err != nil {
			return err
		}
	}
	p.goLoop("gateway", srv.Run)
	return nil
}

func (p *Platform) routeGateway(context.Context) error {
	table, err := p.values.RouteTable()
	if err != nil {
		return err
	}
	running := func(string) bool { return p.functions != nil }
	gw, err := newGateway(table, p.Addrs.Functions, p.Addrs.Edges, running, p.log.With("part", "gateway"))
	if err != nil {
		return err
	}
	gw.web = webui.Handler(p.cfg.WebDir)
	p.gateway.set(gw)
	// Stop taking requests before anything behind the gateway stops.
	for i, c := range p.closers {
		if c.name == "gateway" {
			p.closers = append(append(p.closers[:i:i], p.closers[i+1:]...), c)
			break
		}
	}
	return nil
}

// lateHandler serves 503 until the gateway's routes are installed.
type lateHandler struct{ h atomic.Pointer[gateway] }

func (l *lateHandler) set(g *gateway) { l.h.Store(g) }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g := l.h.Load(); g != nil {
		g.ServeHTTP(w, r)
		return
	}
	problem(w, http.StatusServiceUnavailable, "unavailable", "the platform is starting")
}

// Ready reports whether every started part answers.
func (p *Platform) Ready(ctx context.Context) error {
	if !p.started.Load() {
		return errors.New("starting")
	}
	p.mu.Lock()
	checks := append([]check(nil), p.checks...)
	p.mu.Unlock()
	var errs []error
	for _, c := range checks {
		if err := c.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// WaitReady polls Ready until it passes or ctx ends (then it returns what is still not ready).
func (p *Platform) WaitReady(ctx context.Context) error {
	for {
		err := p.Ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("platform not ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Process returns a supervised child by name ("functions", "edge-0", "keto", "versitygw"), for
// fault-injection tests; nil when it is not running.
func (p *Platform) Process(name string) *supervise.Proc {
	for _, pr := range p.procs {
		if pr.Name() == name {
			return pr
		}
	}
	return nil
}

// Close stops everything in reverse start order: gateway, eventing, edges, functions, ingress,
// Keto, versitygw, Kafka. It is safe to call twice.
func (p *Platform) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		c := p.closers[i]
		if err := c.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Platform) logAddrs() {
	a := p.Addrs
	p.log.Info("gateway (public HTTP API, OIDC issuer)", "url", a.PublicURL)
	for i, e := range a.Edges {
		p.log.Info("socket-edge", "id", fmt.Sprintf("edge-%d", i), "ws", "ws://"+e+"/v1/ws")
	}
	p.log.Info("broker ingress", "url", a.IngressURL, "topic", p.values.Broker.Topic)
	p.log.Info("kafka (kfake)", "addr", a.Kafka, "partitions", p.cfg.Partitions)
	if p.Process("versitygw") != nil {
		p.log.Info("s3 (versitygw)", "url", a.S3URL, "bucket", p.cfg.S3Bucket, "data", filepath.Join(p.cfg.DataDir, "s3"))
	}
	if p.Process("keto") != nil {
		p.log.Info("keto", "read", a.KetoReadURL, "write", a.KetoWriteURL)
	}
	names := make([]string, 0, len(a.Functions))
	for n := range a.Functions {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return a.Functions[names[i]] < a.Functions[names[j]] })
	if p.functions != nil {
		for _, n := range names {
			p.log.Info("function", "name", n, "addr", a.Functions[n])
		}
	}
	p.log.Info("postgres", "url", redactURL(p.cfg.DatabaseURL))
	p.log.Info("redis", "addr", p.cfg.RedisAddr)
}
