// Package push reaches users who have no live WebSocket connection: it serves their push devices
// (POST/GET/DELETE /v1/push/devices, GET /v1/push/vapid-public-key) and, triggered by
// im.message.created, sends a push to each device of every member who should get one (API.md
// "v1.1 additions", Push): not the sender, not online (the socket-edge's presence leases in Redis),
// not muted unless mentioned, never for system messages. One Provider per platform (Web Push, FCM,
// APNs) sends; a device its service reports gone is deleted.
package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/errgroup"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
)

// Config of the push function. Zero values take the documented defaults.
type Config struct {
	// IncludeContent puts the title (sender's display name or group title) and up to BodyChars of
	// the text into pushes (PUSH_INCLUDE_CONTENT); off by default: no content leaves the platform.
	IncludeContent bool
	BodyChars      int           // default 100
	MaxDevices     int           // per user; default 20
	TTL            time.Duration // how long a push service keeps an undelivered push; default 24h
	// UserParallel bounds the users sent to at once, DeviceParallel one user's devices at once.
	UserParallel, DeviceParallel int // defaults 16, 4
	Retry                        Retry
	// RedisPrefix is the socket-edge's key prefix (presence leases) and this function's own.
	RedisPrefix string
}

func (c *Config) setDefaults() {
	def := func(v *int, n int) {
		if *v <= 0 {
			*v = n
		}
	}
	def(&c.BodyChars, 100)
	def(&c.MaxDevices, 20)
	def(&c.UserParallel, 16)
	def(&c.DeviceParallel, 4)
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	c.Retry.setDefaults()
}

// Deps are the function's clients. Providers maps a platform (events.PlatformWebPush...) to its
// sender; a platform without one is skipped (counted as unconfigured).
type Deps struct {
	Pool      *pgxpool.Pool
	Redis     *goredis.Client
	VAPID     VAPIDKey
	Providers map[string]Provider
	Log       *slog.Logger
}

// Handler is the push function.
type Handler struct {
	cfg   Config
	d     Deps
	vapid VAPIDKey
	sent  metric.Int64Counter // parley_push_sent_total{platform, outcome}
}

// New builds the function.
func New(cfg Config, d Deps) (*Handler, error) {
	cfg.setDefaults()
	sent, err := otel.GetMeterProvider().Meter("github.com/parley-im/parley/functions/push").Int64Counter("parley_push_sent",
		metric.WithDescription("pushes to devices by platform and outcome: sent, gone (device deleted), failed, skipped"))
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, d: d, vapid: d.VAPID, sent: sent}, nil
}

// Mount serves the device routes and POST / for im.message.created.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, h.HandleEvent)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	r := func(pattern string, fn serve.UserHandlerFunc) { mux.Handle(pattern, serve.UserRoute(h.d.Log, fn)) }
	r("POST /v1/push/devices", h.registerDevice)
	r("GET /v1/push/devices", h.listDevices)
	r("DELETE /v1/push/devices/{device_id}", h.deleteDevice)
	r("GET /v1/push/vapid-public-key", h.vapidPublicKey)
}

// HandleEvent pushes one im.message.created to the devices of its offline recipients. It fails
// (so the trigger retries) only for a failure of its own stores or a push still refused
// transiently after its retries; pushes already sent are not repeated (sentKey).
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.TypeMessageCreated {
		return nil, events.Invalid("type", "push does not handle %s", e.Type())
	}
	f, err := events.Decode[events.MessageFact](e)
	if err != nil {
		return nil, err
	}
	return nil, h.Push(ctx, f.Message)
}

// target is one device that gets the push, with its recipient's notification.
type target struct {
	dev Device
	n   Notification
}

// Push sends m to every device that should get it.
func (h *Handler) Push(ctx context.Context, m events.Message) error {
	if m.Type == events.MessageSystem || m.Status != events.StatusNormal {
		return nil
	}
	// Devices first: most messages have no recipient with a device, and then this is the one query
	// a message costs (the push trigger sees every message of the platform).
	devs, err := h.devices(ctx, m)
	if err != nil || len(devs) == 0 {
		return err
	}
	conv, err := h.conversation(ctx, m)
	if err != nil || conv.ID == "" {
		return err
	}
	online, err := h.online(ctx, devs)
	if err != nil {
		return err
	}
	byUser := map[string][]target{}
	var users []string
	for _, d := range devs {
		if online[d.UserID] {
			continue
		}
		mentioned := m.MentionAll || slices.Contains(m.Mentions, d.UserID)
		pm := events.PushMessage{V: 1, Type: "message", ConversationID: m.ConversationID, ConversationType: conv.Type,
			MessageID: m.ID, Seq: m.Seq, SenderID: m.SenderID, Mentioned: mentioned}
		if h.cfg.IncludeContent {
			pm.Title, pm.Body = conv.Title, h.body(m)
		}
		if _, ok := byUser[d.UserID]; !ok {
			users = append(users, d.UserID)
		}
		byUser[d.UserID] = append(byUser[d.UserID], target{dev: d, n: Notification{Message: pm, Urgent: mentioned, TTL: h.cfg.TTL}})
	}
	var (
		mu    sync.Mutex
		retry error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.cfg.UserParallel)
	for _, u := range users {
		g.Go(func() error {
			dg, dctx := errgroup.WithContext(gctx)
			dg.SetLimit(h.cfg.DeviceParallel)
			for _, t := range byUser[u] {
				dg.Go(func() error {
					if err := h.deliver(dctx, m.ID, t); err != nil {
						mu.Lock()
						retry = err
						mu.Unlock()
					}
					return nil
				})
			}
			return dg.Wait()
		})
	}
	_ = g.Wait()
	if retry != nil {
		return events.Wrap(events.CodeUnavailable, retry, "a push service refused transiently; retry")
	}
	return nil
}

// deliver sends one push once: a Redis claim per (message, device) makes a redelivered event skip
// devices already served, and is released when the push failed transiently so the retry sends it.
// It returns an error only for such a transient failure.
func (h *Handler) deliver(ctx context.Context, messageID string, t target) error {
	p, ok := h.d.Providers[t.dev.Platform]
	if !ok {
		h.count(ctx, t.dev.Platform, "unconfigured")
		return nil
	}
	key := h.cfg.RedisPrefix + "push:sent:" + messageID + ":" + t.dev.UserID + ":" + t.dev.DeviceID
	claimed, err := h.d.Redis.SetNX(ctx, key, "1", h.cfg.TTL).Result()
	if err != nil {
		return err
	}
	if !claimed {
		h.count(ctx, t.dev.Platform, "duplicate")
		return nil
	}
	err = h.cfg.Retry.send(ctx, p, t.dev, t.n)
	var re *RetryError
	switch {
	case err == nil:
		h.count(ctx, t.dev.Platform, "sent")
		return nil
	case errors.Is(err, ErrGone):
		h.count(ctx, t.dev.Platform, "gone")
		if ferr := h.forget(ctx, t.dev); ferr != nil {
			h.d.Redis.Del(context.WithoutCancel(ctx), key)
			return ferr
		}
		h.d.Log.InfoContext(ctx, "push device gone; deleted", "user_id", t.dev.UserID, "platform", t.dev.Platform)
		return nil
	case errors.As(err, &re):
		h.count(ctx, t.dev.Platform, "retry")
		h.d.Redis.Del(context.WithoutCancel(ctx), key)
		return err
	default:
		h.count(ctx, t.dev.Platform, "failed")
		h.d.Log.WarnContext(ctx, "push refused", "user_id", t.dev.UserID, "platform", t.dev.Platform, "err", err)
		return nil
	}
}

func (h *Handler) count(ctx context.Context, platform, outcome string) {
	h.sent.Add(ctx, 1, metric.WithAttributes(attribute.String("platform", platform), attribute.String("outcome", outcome)))
}

// convInfo is what a push says about the conversation: its type, and the title shown when content
// is included (the group's title, or the sender's display name in a direct chat).
type convInfo struct{ ID, Type, Title string }

func (h *Handler) conversation(ctx context.Context, m events.Message) (convInfo, error) {
	var c convInfo
	var sender string
	err := h.d.Pool.QueryRow(ctx, `SELECT c.id, c.type, c.title, coalesce(u.display_name, '')
		FROM conversations c LEFT JOIN users u ON u.id = $2 WHERE c.id = $1`, m.ConversationID, m.SenderID).
		Scan(&c.ID, &c.Type, &c.Title, &sender)
	if errors.Is(err, pgx.ErrNoRows) {
		return convInfo{}, nil // deleted since: nobody to push to
	}
	if err != nil {
		return c, fmt.Errorf("conversation: %w", err)
	}
	if c.Type == events.ConversationDirect || c.Title == "" {
		c.Title = sender
	}
	return c, nil
}

// devices returns the devices of the members who may get m: every member but the sender, unless
// they muted the conversation and m does not mention them.
func (h *Handler) devices(ctx context.Context, m events.Message) ([]Device, error) {
	mentions := m.Mentions
	if mentions == nil {
		mentions = []string{}
	}
	rows, err := h.d.Pool.Query(ctx, `SELECT d.user_id, d.device_id, d.platform, d.token, d.endpoint, d.p256dh, d.auth
		FROM conversation_members cm JOIN push_devices d ON d.user_id = cm.user_id
		WHERE cm.conversation_id = $1 AND cm.user_id <> $2
		  AND (cm.muted_until IS NULL OR cm.muted_until <= now() OR $4 OR cm.user_id = ANY($3))
		ORDER BY d.user_id, d.created_at`, m.ConversationID, m.SenderID, mentions, m.MentionAll)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	devs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Device, error) {
		var d Device
		err := r.Scan(&d.UserID, &d.DeviceID, &d.Platform, &d.Token, &d.Endpoint, &d.P256dh, &d.Auth)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	return devs, nil
}

// online reads the socket-edge's presence leases (socket-edge/edge/presence.go:
// <prefix>presence:<user>, a ZSET of connection ids scored by lease expiry in unix ms): a user with
// any lease still in the future has a live WebSocket connection and gets the message there.
func (h *Handler) online(ctx context.Context, devs []Device) (map[string]bool, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	pipe := h.d.Redis.Pipeline()
	cmds := map[string]*goredis.IntCmd{}
	for _, d := range devs {
		if _, ok := cmds[d.UserID]; !ok {
			cmds[d.UserID] = pipe.ZCount(ctx, h.cfg.RedisPrefix+"presence:"+d.UserID, "("+now, "+inf")
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("presence: %w", err)
	}
	out := make(map[string]bool, len(cmds))
	for u, c := range cmds {
		out[u] = c.Val() > 0
	}
	return out, nil
}

// body is the push text: up to BodyChars code points of a text message, "[image]" and the like
// for the others.
func (h *Handler) body(m events.Message) string {
	if m.Type != events.MessageText {
		return "[" + m.Type + "]"
	}
	if utf8.RuneCountInString(m.Text) <= h.cfg.BodyChars {
		return m.Text
	}
	r := []rune(m.Text)
	return string(r[:h.cfg.BodyChars])
}
