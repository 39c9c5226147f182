// Package conversations manages direct and group conversations and their members, and serves what a
// member reads: the conversation list, one conversation with its members' read positions, and
// message history. Membership lives in PostgreSQL; Keto holds a mirror of the roles (kept in step
// by messaging.Mirror) that the management checks ask first, falling back to PostgreSQL roles when
// Keto does not answer.
package conversations

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
)

// Source is the CloudEvents source of this function's facts.
const Source = "/parley/conversations"

// Config of the function. Zero values take the documented defaults.
type Config struct {
	MaxCreateMembers int // members at creation besides the creator; default 1000
	MaxMembers       int // members of a group in total; default 10000
	MaxTitleChars    int // default 128
	HistoryLimit     int // default page size; default 50
	MaxHistoryLimit  int // default 200
	// MaxJSONExportMessages caps GET /v1/users/me/export in JSON (NDJSON has no cap); default 100000.
	MaxJSONExportMessages int
}

// Authorizer asks Keto with the access layer's degradation rules (*auth.Authorizer): with
// auth.Fallback, an unreachable Keto is answered by the process's PostgreSQL fallback for the
// Conversation namespace (messaging.Roles) and counted once, in infra/auth's
// parley_authz_fallback_total{namespace="Conversation",relation,mode="fallback"}; when the fallback
// cannot answer either, it returns an unavailable error.
type Authorizer interface {
	Allowed(ctx context.Context, namespace, object, relation, userID string, onOutage auth.OnOutage) (bool, error)
}

// Deps are the function's clients. Authz may be nil (Keto not configured: PostgreSQL roles decide).
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox messaging.Outbox
	Mirror *messaging.Mirror
	Authz  Authorizer
	Log    *slog.Logger
}

// Handler is the conversations function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	def := func(v *int, n int) {
		if *v <= 0 {
			*v = n
		}
	}
	def(&cfg.MaxCreateMembers, 1000)
	def(&cfg.MaxMembers, 10000)
	def(&cfg.MaxTitleChars, 128)
	def(&cfg.HistoryLimit, 50)
	def(&cfg.MaxHistoryLimit, 200)
	def(&cfg.MaxJSONExportMessages, 100000)
	if d.Mirror == nil {
		d.Mirror = messaging.NewMirror(nil, d.Log)
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the function's public routes (it consumes no events).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, nil)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	r := func(pattern string, fn serve.UserHandlerFunc) { mux.Handle(pattern, serve.UserRoute(h.d.Log, fn)) }
	r("POST /v1/conversations", h.create)
	r("GET /v1/conversations", h.list)
	r("GET /v1/conversations/{id}", h.get)
	r("PATCH /v1/conversations/{id}", h.update)
	r("POST /v1/conversations/{id}/members", h.addMembers)
	r("DELETE /v1/conversations/{id}/members/{user_id}", h.removeMember)
	r("PATCH /v1/conversations/{id}/members/{user_id}", h.updateMember)
	r("GET /v1/conversations/{id}/messages", h.history)
	r("PATCH /v1/conversations/{id}/settings", h.settings)
	r("GET /v1/users/me/export", h.export)
	r("GET /v1/conversations/{id}/read-by", h.readBy)
}

// settings sets the caller's own settings of a conversation (v1.1: mute). No fact and no push: the
// caller's other devices read it in GET /v1/conversations.
func (h *Handler) settings(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.UpdateSettingsRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	ctx, convID := r.Context(), r.PathValue("id")
	var until *time.Time
	var err error
	if body.MutedUntil == nil { // absent: left as is
		until, err = mute(ctx, h.d.Pool, convID, userID)
	} else {
		var t *time.Time
		if err := json.Unmarshal(body.MutedUntil, &t); err != nil {
			return events.Invalid("muted_until", "must be an RFC 3339 time or null")
		}
		if t != nil && !t.After(time.Now()) {
			t = nil // a past time unmutes
		}
		if t != nil && t.After(events.MuteForever) {
			return events.Invalid("muted_until", "must not be after %s", events.MuteForever.Format(time.RFC3339))
		}
		until, err = setMute(ctx, h.d.Pool, convID, userID, t)
	}
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.SettingsResponse{Settings: events.ConversationSettings{
		ConversationID: convID, MutedUntil: until}})
}
