package annotate

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

func (h *Handler) pin(w http.ResponseWriter, r *http.Request, userID string) error {
	p, err := h.Pin(r.Context(), userID, r.PathValue("id"), r.PathValue("message_id"))
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.PinResponse{Pin: p})
}

func (h *Handler) unpin(w http.ResponseWriter, r *http.Request, userID string) error {
	if err := h.Unpin(r.Context(), userID, r.PathValue("id"), r.PathValue("message_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) pins(w http.ResponseWriter, r *http.Request, userID string) error {
	ps, err := h.Pins(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.PinsResponse{Pins: ps})
}

// mayPin checks who may pin in the conversation: in a group its owner and admins, in a direct chat
// either member; a stranger gets the conversation's 404. It also serializes the pin changes of the
// conversation (a transaction-scoped advisory lock, not the conversation row, which every send
// updates), so the pin cap holds under concurrent pins.
func mayPin(ctx context.Context, tx pgx.Tx, conversationID, userID string) error {
	var typ, role string
	err := tx.QueryRow(ctx, `SELECT c.type, cm.role FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
		WHERE cm.conversation_id = $1 AND cm.user_id = $2`, conversationID, userID).Scan(&typ, &role)
	if messaging.IsNoRows(err) {
		return messaging.ErrNotFound()
	}
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	if typ == events.ConversationGroup && !messaging.CanManage(role) {
		return events.Errorf(events.CodeForbidden, "only the owner or an admin may pin in a group")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('pins/' || $1, 0))`, conversationID); err != nil {
		return fmt.Errorf("pin lock: %w", err)
	}
	return nil
}

// Pin pins a normal message of the conversation; pinning it again answers the same pin.
func (h *Handler) Pin(ctx context.Context, userID, conversationID, messageID string) (events.Pin, error) {
	var p events.Pin
	err := h.change(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		if err := mayPin(ctx, tx, conversationID, userID); err != nil {
			return nil, err
		}
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM messages WHERE id = $1 AND conversation_id = $2`, messageID, conversationID).Scan(&status)
		if messaging.IsNoRows(err) {
			return nil, errMessageNotFound()
		}
		if err != nil {
			return nil, fmt.Errorf("load message: %w", err)
		}
		if status != events.StatusNormal {
			return nil, events.Errorf(events.CodeConflict, "the message is %s", status)
		}
		var pinnedBy string
		var pinnedAt time.Time
		err = tx.QueryRow(ctx, `SELECT pinned_by, pinned_at FROM pins WHERE conversation_id = $1 AND message_id = $2`,
			conversationID, messageID).Scan(&pinnedBy, &pinnedAt)
		if err == nil {
			p, err = pinOf(ctx, tx, userID, messageID, pinnedBy, pinnedAt)
			return nil, err
		}
		if !messaging.IsNoRows(err) {
			return nil, fmt.Errorf("load pin: %w", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pins WHERE conversation_id = $1`, conversationID).Scan(&n); err != nil {
			return nil, fmt.Errorf("count pins: %w", err)
		}
		if n >= h.cfg.MaxPins {
			return nil, events.Errorf(events.CodeLimitExceeded, "a conversation holds at most %d pins", h.cfg.MaxPins)
		}
		now := messaging.Now()
		if _, err := tx.Exec(ctx, `INSERT INTO pins (conversation_id, message_id, pinned_by, pinned_at) VALUES ($1, $2, $3, $4)`,
			conversationID, messageID, userID, now); err != nil {
			return nil, fmt.Errorf("pin: %w", err)
		}
		if p, err = pinOf(ctx, tx, userID, messageID, userID, now); err != nil {
			return nil, err
		}
		e, err := messaging.NewFact(ctx, Source, events.TypeConversationPinned, conversationID, events.ConversationPinned{
			ConversationID: conversationID, MessageID: messageID, Pinned: true, UserID: userID, PinnedAt: now})
		if err != nil {
			return nil, err
		}
		return []event.Event{e}, nil
	})
	return p, err
}

// Unpin removes a pin; removing one that is not there is a success without a fact.
func (h *Handler) Unpin(ctx context.Context, userID, conversationID, messageID string) error {
	return h.change(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		if err := mayPin(ctx, tx, conversationID, userID); err != nil {
			return nil, err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM pins WHERE conversation_id = $1 AND message_id = $2`, conversationID, messageID)
		if err != nil {
			return nil, fmt.Errorf("unpin: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil, nil
		}
		e, err := messaging.NewFact(ctx, Source, events.TypeConversationPinned, conversationID, events.ConversationPinned{
			ConversationID: conversationID, MessageID: messageID, Pinned: false, UserID: userID, PinnedAt: messaging.Now()})
		if err != nil {
			return nil, err
		}
		return []event.Event{e}, nil
	})
}

// Pins lists the conversation's pins, newest first, each message as the caller sees it.
func (h *Handler) Pins(ctx context.Context, userID, conversationID string) ([]events.Pin, error) {
	if _, err := messaging.Role(ctx, h.d.Pool, conversationID, userID); err != nil {
		return nil, err
	}
	rows, err := h.d.Pool.Query(ctx, `SELECT `+messaging.MessageColumns+`, pn.pinned_by, pn.pinned_at
		FROM pins pn JOIN `+messaging.MessageFrom+` ON m.id = pn.message_id
		WHERE pn.conversation_id = $1 ORDER BY pn.pinned_at DESC, pn.message_id DESC`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("pins: %w", err)
	}
	var msgs []events.Message
	out := []events.Pin{}
	for rows.Next() {
		var p events.Pin
		// ScanMessage takes a pgx.Row; the extra columns go through a row that scans both.
		m, err := messaging.ScanMessage(pinRow{rows, &p})
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("pins: %w", err)
		}
		p.PinnedAt = p.PinnedAt.UTC()
		out = append(out, p)
		msgs = append(msgs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pins: %w", err)
	}
	if err := messaging.Reactions(ctx, h.d.Pool, userID, msgs); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Message = msgs[i]
	}
	return out, nil
}

// pinRow scans a pins row: the message columns, then pinned_by and pinned_at into p.
type pinRow struct {
	rows pgx.Rows
	p    *events.Pin
}

func (r pinRow) Scan(dest ...any) error {
	return r.rows.Scan(append(dest, &r.p.PinnedBy, &r.p.PinnedAt)...)
}

// pinOf renders a pin for the caller.
func pinOf(ctx context.Context, tx pgx.Tx, userID, messageID, pinnedBy string, pinnedAt time.Time) (events.Pin, error) {
	m, err := messaging.LoadMessage(ctx, tx, messageID, userID)
	if err != nil {
		return events.Pin{}, fmt.Errorf("load message: %w", err)
	}
	return events.Pin{Message: m, PinnedBy: pinnedBy, PinnedAt: pinnedAt.UTC()}, nil
}
