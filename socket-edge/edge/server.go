package edge

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/redis"
)

// Config of one edge instance. A zero field takes the documented default.
type Config struct {
	// EdgeID names this instance (consumer group "socket-edge-<EdgeID>", correlation ids, registry);
	// it must not contain "/". Default "edge-0".
	EdgeID string
	// Addr is what the instance registry advertises (informational).
	Addr string
	// KafkaBrokers for the im.delivery consumer; empty disables consuming (unit tests only).
	KafkaBrokers []string
	// KafkaSecurity secures the consumer's connections (TLS, SASL); the zero value is plaintext.
	KafkaSecurity kafka.Security
	// DeliveryFromStart makes a new consumer group start at the oldest offset instead of the newest
	// (tests with a topic of their own; production pushes only to live connections).
	DeliveryFromStart bool
	// BrokerTopic receives the commands and presence facts; default events.TopicBroker.
	BrokerTopic string
	// DeliveryTopic is consumed; default events.TopicDelivery.
	DeliveryTopic string
	// RedisPrefix is put before every Redis key; default redis.DefaultPrefix.
	RedisPrefix string
	// AllowedOrigins: exact "scheme://host[:port]" values, or "*". A request with an Origin header
	// not listed is refused with 403 before the upgrade. Empty: only an Origin whose host equals the
	// request's Host. Requests without Origin (non-browser clients) are always allowed.
	AllowedOrigins []string
	// HeartbeatInterval between server pings; the read deadline is 2x this. Default 25s.
	HeartbeatInterval time.Duration
	// OutboundQueueBytes bounds the bytes queued for one connection; default 256 KiB.
	OutboundQueueBytes int
	// ResendTimeout: an unacked message push is resent after it; default 10s. ResendAttempts (default
	// 3) resends happen before the edge gives up (the client pulls on reconnect).
	ResendTimeout  time.Duration
	ResendAttempts int
	// CommandDeadline is stamped on every command the edge publishes (events.ExtDeadline = publish
	// time + CommandDeadline): a function drops a command past it unapplied, so work nobody waits
	// for any more is not done, and the publish itself is bounded by it. Default 1s: the answer
	// timeout (+0.4s) plus what a saturated machine adds (late timers, frames waiting in the socket
	// before the edge reads them: measured up to 0.45 s) stays inside the 2 s in which a client
	// should hear an explicit answer. A sustainable load answers in tens of ms (p99).
	CommandDeadline time.Duration
	// CommandTimeout: a send/read/revoke frame not answered by then gets error "unavailable" (the
	// command may still apply: retry with the same client_msg_id). Default CommandDeadline + 0.4s
	// (1.4s): the margin lets a function's refusal of an expired command arrive first.
	CommandTimeout time.Duration
	// MaxPendingPerConn caps one connection's send/read/revoke frames awaiting an answer; a frame over
	// it is answered at once with error "rate_limited". Default 16.
	MaxPendingPerConn int
	// MaxPendingPerEdge caps the instance's frames awaiting an answer; a frame over it is answered at
	// once with error "unavailable". Default 2000.
	MaxPendingPerEdge int
	// SendLimitMin is the floor of the adaptive limit on sends in flight (published, not yet
	// answered) on this instance; a send over the limit is answered at once with "unavailable"
	// (overload.go). The limit (failsafe-go's adaptive limiter) rises with the concurrency the
	// instance actually sees, up to MaxPendingPerEdge, and falls while answer times climb above
	// their baseline, so under overload what is admitted still gets answered within the deadline
	// instead of queueing until it expires. Default 50: above the bursts of a healthy path (a few
	// sends in flight at hundreds a second); negative, or not below MaxPendingPerEdge, disables it.
	SendLimitMin int
	// ShedAnswerLatency: while the recent mean send answer latency is above it, new sends are answered
	// at once with "unavailable" (overload.go). Zero or negative: off (the default). Measured: the mean
	// lags the path's recovery, so after a burst it kept shedding at a rate the path could carry; the
	// pending caps and the deadlines bound the backlog without that lag.
	ShedAnswerLatency time.Duration
	// ShedDeliveryLag: while message deliveries reach this instance later than this after their
	// message was stored (the smoothed lag of the delivery path: fanout's backlog), new sends are
	// answered at once with "unavailable". Their answers ride the same path and would come after
	// CommandTimeout anyway, while each one stored would lengthen the backlog. The lag keeps being
	// measured while the backlog drains, so shedding ends as soon as the path has caught up.
	// Default 1s; negative disables.
	ShedDeliveryLag time.Duration
	// DrainWindow over which connections are closed with 1012 on shutdown; default 10s.
	DrainWindow time.Duration
	// MaxFrameBytes is the read limit; a bigger frame closes the connection with 1009. Default 64 KiB.
	MaxFrameBytes int64
	// RateLimit frames per second per connection with a burst of RateBurst; exceeding it closes with
	// 4008. Every frame but a well-formed ack counts. Defaults 20/s and 60.
	RateLimit float64
	RateBurst float64
	// AckRateLimit acks per second per connection with a burst of AckBurst: a budget of their own, so
	// that acking every push of a busy conversation never closes a client; acks over it are ignored
	// (and counted), never a close. It only bounds the CPU one connection's acks can take. Defaults
	// 500/s and 1000.
	AckRateLimit float64
	AckBurst     float64
	// WriteTimeout bounds one coalesced write; default 10s.
	WriteTimeout time.Duration
	// PresenceTTL is the lifetime of a device lease (refreshed every third of it); default 60s.
	PresenceTTL time.Duration
	// ReadBufferSize of each connection; default 512 bytes (frames bigger than it are read in parts).
	ReadBufferSize int
}

func (c *Config) setDefaults() error {
	if c.EdgeID == "" {
		c.EdgeID = "edge-0"
	}
	if strings.Contains(c.EdgeID, "/") {
		return fmt.Errorf("edge id %q must not contain /", c.EdgeID)
	}
	if c.BrokerTopic == "" {
		c.BrokerTopic = events.TopicBroker
	}
	if c.DeliveryTopic == "" {
		c.DeliveryTopic = events.TopicDelivery
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = redis.DefaultPrefix
	}
	setDur(&c.HeartbeatInterval, 25*time.Second)
	setDur(&c.ResendTimeout, 10*time.Second)
	setDur(&c.CommandDeadline, time.Second)
	setDur(&c.CommandTimeout, c.CommandDeadline+400*time.Millisecond)
	if c.CommandTimeout < c.CommandDeadline {
		// The client would hear "unavailable" while its command could still be applied for a while.
		return fmt.Errorf("command timeout %v is shorter than the command deadline %v", c.CommandTimeout, c.CommandDeadline)
	}
	if c.ShedDeliveryLag == 0 {
		c.ShedDeliveryLag = time.Second
	}
	if c.MaxPendingPerConn <= 0 {
		c.MaxPendingPerConn = 16
	}
	if c.MaxPendingPerEdge <= 0 {
		c.MaxPendingPerEdge = 2000
	}
	if c.SendLimitMin == 0 {
		c.SendLimitMin = 50
	}
	if c.SendLimitMin >= c.MaxPendingPerEdge {
		c.SendLimitMin = -1 // a limit that cannot move below the cap adds nothing to it
	}
	setDur(&c.DrainWindow, 10*time.Second)
	setDur(&c.WriteTimeout, 10*time.Second)
	setDur(&c.PresenceTTL, 60*time.Second)
	if c.OutboundQueueBytes <= 0 {
		c.OutboundQueueBytes = 256 << 10
	}
	if c.ResendAttempts <= 0 {
		c.ResendAttempts = 3
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = 64 << 10
	}
	if c.RateLimit <= 0 {
		c.RateLimit = 20
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 60
	}
	if c.AckRateLimit <= 0 {
		c.AckRateLimit = 500
	}
	if c.AckBurst <= 0 {
		c.AckBurst = 1000
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = 512
	}
	return nil
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// tokenVerifier checks an access token (signature, expiry, denylist, ban). A ban is reported as an
// *events.Error with code forbidden; anything else refuses the upgrade with 401.
type tokenVerifier interface {
	Verify(ctx context.Context, rawToken string) (auth.Principal, error)
}

// ticketRedeemer exchanges a one-use WebSocket ticket for the principal it was issued to.
type ticketRedeemer interface {
	Redeem(ctx context.Context, ticket string) (auth.Principal, error)
}

// Deps are the edge's collaborators. Verifier or Tickets may be nil (that way of authenticating is
// then refused); Producer and Redis are required.
type Deps struct {
	Verifier tokenVerifier
	Tickets  ticketRedeemer
	Producer events.Publisher
	Redis    *goredis.Client
	Log      *slog.Logger
	// Meter creates the edge's instruments (metrics.go); default the global meter provider's.
	Meter metric.Meter
	// Tracer starts the spans of connections and published commands; default the global one's.
	Tracer trace.Tracer
}

// Edge is one socket-edge instance. Its methods are safe for concurrent use.
type Edge struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	upgrader websocket.Upgrader
	hub      *hub
	cmds     *pendingCommands
	sends    adaptivelimiter.AdaptiveLimiter[any] // nil: no adaptive limit on sends
	presence *presence
	latency  answerLatency
	lag      answerLatency // delivery lag of message facts (ShedDeliveryLag)
	tracer   trace.Tracer
	metrics  edgeMetrics
	epoch    time.Time // origin of mono()
	source   string
	allowAny bool
	origins  map[string]bool

	batchPool sync.Pool // coalesced write buffers, shared by all connections

	draining  atomic.Bool
	consuming atomic.Int32 // partitions of im.delivery currently claimed
	conns     sync.WaitGroup
	bg        sync.WaitGroup // presence updates in flight
	stats     stats
}

// New validates cfg and builds an edge. Call Run to consume deliveries and keep leases.
func New(cfg Config, deps Deps) (*Edge, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if deps.Producer == nil {
		return nil, errors.New("edge: a producer is required")
	}
	if deps.Redis == nil {
		return nil, errors.New("edge: a redis client is required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Meter == nil {
		deps.Meter = otel.GetMeterProvider().Meter(instrumentation)
	}
	if deps.Tracer == nil {
		deps.Tracer = otel.GetTracerProvider().Tracer(instrumentation)
	}
	e := &Edge{
		cfg:     cfg,
		deps:    deps,
		log:     deps.Log.With("edge", cfg.EdgeID),
		hub:     newHub(),
		tracer:  deps.Tracer,
		epoch:   time.Now(),
		source:  events.Source("socket-edge/" + cfg.EdgeID),
		origins: map[string]bool{},
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			e.allowAny = true
		}
		e.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	e.cmds = newPendingCommands()
	if cfg.SendLimitMin > 0 {
		e.sends = newSendLimiter(cfg.SendLimitMin, cfg.MaxPendingPerEdge)
	}
	if err := e.initMetrics(deps.Meter); err != nil {
		return nil, fmt.Errorf("edge metrics: %w", err)
	}
	e.presence = &presence{rdb: deps.Redis, prefix: cfg.RedisPrefix, ttl: cfg.PresenceTTL}
	e.upgrader = websocket.Upgrader{
		HandshakeTimeout: 5 * time.Second,
		ReadBufferSize:   cfg.ReadBufferSize,
		// Buffers are taken from the pool only while a message is being written, so an idle
		// connection holds none.
		WriteBufferPool: &sync.Pool{},
		WriteBufferSize: 4096,
		Subprotocols:    []string{events.SubprotocolV1},
		// The origin is checked before Upgrade (403 with a body); gorilla's check would only 403 too.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeProblem(w, events.Errorf(events.CodeInvalidArgument, "websocket handshake: %v", reason), status)
		},
	}
	return e, nil
}

// Handler serves GET /v1/ws. Health endpoints are the process runner's (infra/httpserver).
func (e *Edge) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ws", e.serveWS)
	return mux
}

// Ready reports whether the edge accepts new connections (false while draining).
func (e *Edge) Ready(ctx context.Context) error {
	if e.draining.Load() {
		return errors.New("draining")
	}
	return e.deps.Redis.Ping(ctx).Err()
}

// ConsumingPartitions is how many im.delivery partitions this instance currently reads (tests wait
// for it before producing, since the consumer starts at the newest offset).
func (e *Edge) ConsumingPartitions() int { return int(e.consuming.Load()) }

// Connections is the number of open connections.
func (e *Edge) Connections() int { return int(e.stats.connections.Load()) }

// mono is the time since the edge started, on the monotonic clock (the rate limiters' clock).
func (e *Edge) mono() int64 { return int64(time.Since(e.epoch)) }

// instrumentation names the edge's meter and tracer.
const instrumentation = "github.com/parley-im/parley/socket-edge/edge"

// serveWS authenticates, upgrades and starts the connection's read loop, then returns so the
// handler goroutine's stack is not kept for the connection's life.
func (e *Edge) serveWS(w http.ResponseWriter, r *http.Request) {
	if e.draining.Load() {
		w.Header().Set("Retry-After", "1")
		writeProblem(w, events.Errorf(events.CodeUnavailable, "this instance is draining; reconnect"), http.StatusServiceUnavailable)
		return
	}
	if !e.originAllowed(r) {
		writeProblem(w, events.Errorf(events.CodeForbidden, "origin not allowed"), http.StatusForbidden)
		return
	}
	p, err := e.authenticate(r)
	banned := false
	if err != nil {
		var ee *events.Error
		if errors.As(err, &ee) && ee.Code == events.CodeForbidden {
			// A banned user gets a socket that closes with 4003 at once, so the client learns not
			// to reconnect (a bare 403 is indistinguishable from a network failure in browsers).
			banned = true
		} else {
			writeProblem(w, events.Errorf(events.CodeUnauthenticated, "missing, expired or invalid credentials"), http.StatusUnauthorized)
			return
		}
	}
	hw := &hijackWriter{ResponseWriter: w, pool: &e.batchPool}
	ws, err := e.upgrader.Upgrade(hw, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	raw := hw.conn
	if banned {
		c := &conn{edge: e, ws: ws, raw: raw,
			w: writer{t: &wsTransport{ws: ws, raw: raw}, limit: e.cfg.OutboundQueueBytes, timeout: e.cfg.WriteTimeout}}
		c.ctx, c.cancel = context.WithCancel(context.Background())
		c.closeWith(disconnectBanned)
		e.conns.Add(1)
		go c.readLoop()
		return
	}
	// The connection's log lines (closes) carry the upgrade request's trace: the one otelhttp started
	// in a full process, or one of its own when the handler runs bare.
	sc := trace.SpanContextFromContext(r.Context())
	if !sc.IsValid() {
		_, span := e.tracer.Start(r.Context(), "websocket connect", trace.WithSpanKind(trace.SpanKindServer))
		sc = span.SpanContext()
		span.End()
	}
	c := newConn(e, ws, raw, p, sc)
	e.stats.connections.Add(1)
	e.conns.Add(1)
	e.hub.add(c)
	hello, _ := json.Marshal(events.Hello{SessionID: c.sessionID, UserID: p.UserID,
		HeartbeatIntervalS: int(e.cfg.HeartbeatInterval / time.Second)})
	c.enqueue(renderFrame(events.FrameHello, "", hello))
	c.startHeartbeat()
	go c.readLoop()
	e.connected(c)
}

// authenticate reads the credentials in the documented order: Authorization header, bearer
// subprotocol, ticket. Tokens are never logged.
func (e *Edge) authenticate(r *http.Request) (auth.Principal, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "bearer") {
			token = strings.TrimSpace(t)
		}
	}
	if token == "" {
		for _, p := range websocket.Subprotocols(r) {
			if t, ok := strings.CutPrefix(p, events.SubprotocolBearer); ok {
				token = t
			}
		}
	}
	if token != "" {
		if e.deps.Verifier == nil {
			return auth.Principal{}, errors.New("token auth not configured")
		}
		return e.checkPrincipal(e.deps.Verifier.Verify(ctx, token))
	}
	if t := r.URL.Query().Get("ticket"); t != "" {
		if e.deps.Tickets == nil {
			return auth.Principal{}, errors.New("ticket auth not configured")
		}
		return e.checkPrincipal(e.deps.Tickets.Redeem(ctx, t))
	}
	return auth.Principal{}, errors.New("no credentials")
}

func (e *Edge) checkPrincipal(p auth.Principal, err error) (auth.Principal, error) {
	if err != nil {
		return p, err
	}
	if p.UserID == "" {
		return p, errors.New("principal without user")
	}
	if !p.ExpiresAt.IsZero() && !time.Now().Before(p.ExpiresAt) {
		return p, errors.New("expired")
	}
	return p, nil
}

func (e *Edge) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || e.allowAny {
		return true
	}
	if len(e.origins) == 0 {
		u, err := url.Parse(o)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	return e.origins[strings.ToLower(strings.TrimRight(o, "/"))]
}

func writeProblem(w http.ResponseWriter, err *events.Error, status int) {
	p := events.ProblemOf(err)
	p.Status = status
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", events.ProblemContentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// newID returns a short random id (connection ids: unique per edge, not secret).
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hijackWriter makes the upgrader see a coalescingConn instead of the raw TCP connection.
type hijackWriter struct {
	http.ResponseWriter
	pool *sync.Pool
	conn *coalescingConn // set by Hijack
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &coalescingConn{Conn: c, pool: h.pool}
	return h.conn, brw, nil
}
