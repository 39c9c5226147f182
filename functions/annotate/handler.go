// Package annotate changes what members see of stored messages without sending new ones (API.md
// v1.1): PATCH /v1/messages/{id} (edit), PUT and DELETE /v1/messages/{id}/reactions/{key}, and the
// pins of a conversation. Each change is its state change and its fact in one transaction through
// the outbox, as revoke's; a repeat (the same text, a reaction already there, a pin already pinned)
// changes and emits nothing. A stranger gets the 404 of a missing message or conversation.
package annotate

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
)

// Source is the CloudEvents source of annotate's facts.
const Source = "/parley/annotate"

// Config of the annotate function. Zero values take the documented defaults.
type Config struct {
	// EditWindow is how long after created_at a sender may edit; default 10 minutes (EDIT_WINDOW).
	EditWindow time.Duration
	// MaxTextChars bounds an edited text, in characters; default 4000 (as send's).
	MaxTextChars int
	// MaxReactionKeys bounds the distinct reaction keys of a message; default 20.
	MaxReactionKeys int
	// MaxPins bounds the pins of a conversation; default 50.
	MaxPins int
}

// Deps are annotate's clients.
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox messaging.Outbox
	Log    *slog.Logger
}

// Handler is the annotate function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.EditWindow <= 0 {
		cfg.EditWindow = 10 * time.Minute
	}
	if cfg.MaxTextChars <= 0 {
		cfg.MaxTextChars = 4000
	}
	if cfg.MaxReactionKeys <= 0 {
		cfg.MaxReactionKeys = 20
	}
	if cfg.MaxPins <= 0 {
		cfg.MaxPins = 50
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the function: its public routes only (no command: edits, reactions and pins are HTTP).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, nil)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	r := func(pattern string, fn serve.UserHandlerFunc) { mux.Handle(pattern, serve.UserRoute(h.d.Log, fn)) }
	r("PATCH /v1/messages/{id}", h.edit)
	r("PUT /v1/messages/{id}/reactions/{key}", h.react(events.ReactionAdd))
	r("DELETE /v1/messages/{id}/reactions/{key}", h.react(events.ReactionRemove))
	r("PUT /v1/conversations/{id}/pins/{message_id}", h.pin)
	r("DELETE /v1/conversations/{id}/pins/{message_id}", h.unpin)
	r("GET /v1/conversations/{id}/pins", h.pins)
}

func errMessageNotFound() error { return events.Errorf(events.CodeNotFound, "message not found") }

// change runs fn in a transaction; the facts it returns are added to the outbox in that transaction
// and published after commit.
func (h *Handler) change(ctx context.Context, fn func(tx pgx.Tx) ([]event.Event, error)) error {
	return h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		facts, err := fn(tx)
		if err != nil {
			return err
		}
		emit(facts...)
		return nil
	})
}

// target is a message locked for a change (the caller is a member of its conversation).
type target struct {
	conversationID, senderID, typ, status, text string
	created                                     time.Time
}

// lockMessage locks message id for a change by userID; a missing message and one of a conversation
// userID is not a member of are the same 404. FOR UPDATE serializes the changes of one message, so
// a repeat sees the first one's result (no second fact) and the reaction key cap holds.
func lockMessage(ctx context.Context, tx pgx.Tx, id, userID string) (target, error) {
	var t target
	var role *string
	err := tx.QueryRow(ctx, `SELECT m.conversation_id, m.sender_id, m.type, m.status, m.text, m.created_at, cm.role
		FROM messages m LEFT JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
		WHERE m.id = $1 FOR UPDATE OF m`, id, userID).
		Scan(&t.conversationID, &t.senderID, &t.typ, &t.status, &t.text, &t.created, &role)
	if messaging.IsNoRows(err) || (err == nil && role == nil) {
		return t, errMessageNotFound()
	}
	return t, err
}
