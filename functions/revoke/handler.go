// Package revoke recalls messages: POST /v1/messages/{id}/revoke and the im.message.revoke.v1
// command end in the same Revoke. The sender may revoke within the window, the conversation's owner
// or an admin at any time. The content (text, file, payload) is cleared in storage, so no later read
// returns it; revoking a revoked message answers it again without a second fact.
package revoke

import (
	"context"
	"fmt"
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

// Source is the CloudEvents source of revoke's facts and replies.
const Source = "/parley/revoke"

// Config of the revoke function.
type Config struct {
	// Window is how long a sender may revoke their own message; default 2 minutes.
	Window time.Duration
}

// Deps are revoke's clients.
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox messaging.Outbox
	Log    *slog.Logger
}

// Handler is the revoke function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.Window <= 0 {
		cfg.Window = 2 * time.Minute
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the function: its public route and POST / for the command.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, h.HandleEvent)
}

// Routes registers the public route.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/messages/{id}/revoke", serve.UserRoute(h.d.Log, h.post))
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, userID string) error {
	msg, err := h.Revoke(r.Context(), events.RevokeCommand{UserID: userID, MessageID: r.PathValue("id")})
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.MessageResponse{Message: msg})
}

// HandleEvent handles im.message.revoke.v1 from the broker; refusals are im.command.rejected replies.
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.TypeMessageRevoke {
		return nil, events.Invalid("type", "revoke does not handle %s", e.Type())
	}
	return messaging.Command(ctx, Source, e, func(c events.RevokeCommand) string { return c.UserID },
		func(ctx context.Context, c events.RevokeCommand) error {
			_, err := h.Revoke(ctx, c)
			return err
		})
}

func errMessageNotFound() error { return events.Errorf(events.CodeNotFound, "message not found") }

// Revoke recalls the message and returns it as stored now (status revoked, content cleared).
func (h *Handler) Revoke(ctx context.Context, cmd events.RevokeCommand) (events.Message, error) {
	if err := cmd.Validate(); err != nil {
		return events.Message{}, err
	}
	var msg events.Message
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		var senderID, status string
		var role *string
		var created time.Time
		// FOR UPDATE OF m: two revokes of one message serialize, so only the first writes a fact.
		err := tx.QueryRow(ctx, `SELECT m.sender_id, m.status, m.created_at, cm.role
			FROM messages m LEFT JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
			WHERE m.id = $1 FOR UPDATE OF m`, cmd.MessageID, cmd.UserID).Scan(&senderID, &status, &created, &role)
		if messaging.IsNoRows(err) || (err == nil && role == nil) {
			return errMessageNotFound() // a stranger learns nothing about the message
		}
		if err != nil {
			return fmt.Errorf("load message: %w", err)
		}
		if status == events.StatusRevoked || status == events.StatusErased {
			msg, err = messaging.LoadMessage(ctx, tx, cmd.MessageID, "")
			return err
		}
		if err := h.allowed(cmd.UserID, senderID, *role, created); err != nil {
			return err
		}
		msg, err = messaging.RevokeLocked(ctx, tx, emit, Source, cmd.MessageID, cmd.UserID)
		return err
	})
	if err != nil {
		return events.Message{}, err
	}
	return msg, nil
}

// allowed applies the rule: owner and admins any time, the sender within the window.
func (h *Handler) allowed(userID, senderID, role string, created time.Time) error {
	if messaging.CanManage(role) {
		return nil
	}
	if userID != senderID {
		return events.Errorf(events.CodeForbidden, "only the sender, an admin or the owner may revoke this message")
	}
	if time.Since(created) > h.cfg.Window {
		return events.Errorf(events.CodeRevokeWindowExpired, "messages can be revoked within %s of sending", h.cfg.Window)
	}
	return nil
}
