// Package realtime is the function of ephemeral signals: typing and WebRTC call signaling commands
// from the socket-edge (im.typing.update.v1, im.call.signal.v1), relayed to the other party as
// im.delivery events and never stored, plus the routes GET /v1/presence (read from the edge's device
// leases in Redis) and GET /v1/calls/ice-servers (STUN/TURN with short-lived TURN REST credentials).
//
// The function is stateless: call state (who rings whom, ringing/active/ended, busy markers, ring
// deadlines) lives in Redis, so the two sides of a call may sit on different edges and any instance
// may handle any signal. The 30 s ring timeout is enforced by Run, a ticker in every instance that
// claims due deadlines from one Redis sorted set with a lease per call (see calls.go).
package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/redis"
)

// Source is the CloudEvents source of realtime's deliveries and replies.
const Source = "/parley/realtime"

// Config of the function. Zero values take the documented defaults.
type Config struct {
	RedisPrefix string // key prefix shared with the socket-edge; default redis.DefaultPrefix
	Topic       string // delivery topic; default events.TopicDelivery

	RingTimeout     time.Duration // an unanswered invite ends with call.timeout; default 30s
	MaxCallDuration time.Duration // an active call's state (and its busy markers) expire; default 6h
	EndedTTL        time.Duration // an ended call is remembered (late signals refused, replays answered); default 2m
	SweepInterval   time.Duration // how often Run looks for due ring deadlines; default 1s
	// TimeoutLease is how long an instance holds a due call while it delivers call.timeout; if it dies,
	// another instance re-claims the call after this; default 10s.
	TimeoutLease time.Duration

	MaxPresenceIDs int // user ids per GET /v1/presence; default 200
	// MaxTypingRecipients: typing in a conversation with more other members is not relayed (a large
	// group's typing would cost more than it is worth); default 1000.
	MaxTypingRecipients int

	ICEServers []events.ICEServer // see ParseICEServers
	// TURNSecret, when set, gives every turn:/turns: server without a static username short-lived
	// credentials per the TURN REST API convention (coturn's use-auth-secret / static-auth-secret).
	TURNSecret []byte
	TURNTTL    time.Duration // lifetime of TURN credentials; must exceed the longest call; default 12h
}

func (c *Config) setDefaults() {
	if c.RedisPrefix == "" {
		c.RedisPrefix = redis.DefaultPrefix
	}
	if c.Topic == "" {
		c.Topic = events.TopicDelivery
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RingTimeout, 30*time.Second)
	def(&c.MaxCallDuration, 6*time.Hour)
	def(&c.EndedTTL, 2*time.Minute)
	def(&c.SweepInterval, time.Second)
	def(&c.TimeoutLease, 10*time.Second)
	def(&c.TURNTTL, 12*time.Hour)
	if c.MaxPresenceIDs <= 0 {
		c.MaxPresenceIDs = 200
	}
	if c.MaxTypingRecipients <= 0 {
		c.MaxTypingRecipients = 1000
	}
}

// Deps are the function's clients.
type Deps struct {
	Pool      *pgxpool.Pool
	Redis     *goredis.Client
	Publisher events.Publisher
	Log       *slog.Logger
}

// Handler is the realtime function.
type Handler struct {
	cfg Config
	d   Deps
	k   keys
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	cfg.setDefaults()
	return &Handler{cfg: cfg, d: d, k: keys{prefix: cfg.RedisPrefix}}
}

// Mount serves the function: its public routes and POST / for the commands. Run must also be
// started for ring timeouts to fire.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, h.HandleEvent)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /v1/presence", serve.UserRoute(h.d.Log, h.getPresence))
	mux.Handle("GET /v1/calls/ice-servers", serve.UserRoute(h.d.Log, h.getICEServers))
}

// HandleEvent handles im.typing.update.v1 and im.call.signal.v1 from the broker. A refusal is an
// im.command.rejected reply carrying the command's correlation id; an infrastructure failure is
// returned so the trigger redelivers (every step is idempotent).
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.TypeTypingUpdate:
		return messaging.Command(ctx, Source, e, func(c events.TypingCommand) string { return c.UserID },
			func(ctx context.Context, c events.TypingCommand) error { return h.Typing(ctx, e, c) })
	case events.TypeCallSignal:
		return messaging.Command(ctx, Source, e, func(s events.CallSignal) string { return s.FromUserID },
			func(ctx context.Context, s events.CallSignal) error { return h.Signal(ctx, e, s) })
	}
	return nil, events.Invalid("type", "realtime does not handle %s", e.Type())
}

// deliveryNS namespaces the name-based (v5) ids of delivery events.
var deliveryNS = uuid.MustParse("0b7d8a4e-51c6-4f4f-9f6e-2f1c9d3a7e21")

// delivery builds an im.delivery event carrying an ephemeral signal (typ, data) to recipients.
// Its ids derive from (cause, part), so a redelivered command yields the same delivery ids.
// exceptConn, when set, is the connection that sent the command (it needs no echo).
func delivery(cause, part, typ, key string, recipients []string, exceptConn string, data any) (event.Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return event.Event{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	now := time.Now().UTC()
	inner := events.DeliveredEvent{
		ID:   uuid.NewSHA1(deliveryNS, []byte(cause+"\x00"+part+"\x00signal")).String(),
		Type: typ, Subject: key, Time: now, Data: raw,
	}
	return events.New(uuid.NewSHA1(deliveryNS, []byte(cause+"\x00"+part)).String(), Source, events.TypeDelivery, key,
		events.Delivery{Recipients: recipients, ExceptSession: exceptConn, Event: inner})
}

func (h *Handler) publish(ctx context.Context, evs ...event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := h.d.Publisher.Publish(ctx, h.cfg.Topic, evs...); err != nil {
		return events.Wrap(events.CodeUnavailable, err, "delivery publish failed")
	}
	return nil
}

// senderConn returns the connection id of the command's correlation id ("<edge>/<conn>/<frame>").
func senderConn(e event.Event) string {
	c, err := events.ParseCorrelation(events.StringExtension(e, events.ExtCorrelationID))
	if err != nil {
		return ""
	}
	return c.Conn
}
