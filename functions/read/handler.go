// Package read moves a member's read position: POST /v1/conversations/{id}/read and the
// im.message.read.v1 command end in the same Read. The position only moves forward and never past
// the conversation's last seq; each move commits with an im.conversation.read fact.
package read

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
)

// Source is the CloudEvents source of read's facts and replies.
const Source = "/parley/read"

// Deps are read's clients.
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox messaging.Outbox
	Log    *slog.Logger
}

// Handler is the read function.
type Handler struct{ d Deps }

// New builds the function.
func New(d Deps) *Handler { return &Handler{d: d} }

// Mount serves the function: its public route and POST / for the command.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, h.HandleEvent)
}

// Routes registers the public route.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/conversations/{id}/read", serve.UserRoute(h.d.Log, h.post))
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.ReadRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	seq, err := h.Read(r.Context(), events.ReadCommand{UserID: userID, ConversationID: r.PathValue("id"), Seq: body.Seq})
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ReadResponse{ReadSeq: seq})
}

// HandleEvent handles im.message.read.v1 from the broker; refusals are im.command.rejected replies.
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.TypeMessageRead {
		return nil, events.Invalid("type", "read does not handle %s", e.Type())
	}
	return messaging.Command(ctx, Source, e, func(c events.ReadCommand) string { return c.UserID },
		func(ctx context.Context, c events.ReadCommand) error {
			_, err := h.Read(ctx, c)
			return err
		})
}

// Read moves the caller's read position to cmd.Seq (clamped to the last seq) if that is forward,
// and returns the position now stored.
func (h *Handler) Read(ctx context.Context, cmd events.ReadCommand) (int64, error) {
	if err := cmd.Validate(); err != nil {
		return 0, err
	}
	var readSeq int64
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		// The WHERE on read_seq makes the move monotonic under concurrency: a second UPDATE waits for
		// the first's row lock and re-checks against the committed value.
		err := tx.QueryRow(ctx, `UPDATE conversation_members cm SET read_seq = LEAST($3::bigint, c.last_seq)
			FROM conversations c
			WHERE cm.conversation_id = $1 AND cm.user_id = $2 AND c.id = cm.conversation_id
			  AND cm.read_seq < LEAST($3::bigint, c.last_seq)
			RETURNING cm.read_seq`, cmd.ConversationID, cmd.UserID, cmd.Seq).Scan(&readSeq)
		if messaging.IsNoRows(err) {
			// Not moved: not a member (404), or already at or past cmd.Seq (answer the stored position).
			readSeq, err = currentReadSeq(ctx, tx, cmd.ConversationID, cmd.UserID)
			return err
		}
		if err != nil {
			return fmt.Errorf("update read_seq: %w", err)
		}
		return messaging.EmitFact(ctx, emit, Source, events.TypeConversationRead, cmd.ConversationID,
			events.ConversationRead{ConversationID: cmd.ConversationID, UserID: cmd.UserID, Seq: readSeq})
	})
	if err != nil {
		return 0, err
	}
	return readSeq, nil
}

func currentReadSeq(ctx context.Context, q messaging.Querier, conversationID, userID string) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `SELECT read_seq FROM conversation_members WHERE conversation_id = $1 AND user_id = $2`,
		conversationID, userID).Scan(&seq)
	if messaging.IsNoRows(err) {
		return 0, messaging.ErrNotFound()
	}
	if err != nil {
		return 0, fmt.Errorf("read_seq: %w", err)
	}
	return seq, nil
}
