package realtime

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
)

// deliveryChunk bounds the recipients of one delivery event (as fanout does).
const deliveryChunk = 1000

// Typing relays a typing signal to the conversation's other members, keyed by conversation. The
// sender must be a member (a stranger gets not_found, like every conversation access); in a direct
// conversation where either side blocks the other it is refused as blocked, like a message. The
// sender's own devices get nothing. Conversations with more than MaxTypingRecipients other members
// do not relay typing at all.
func (h *Handler) Typing(ctx context.Context, e event.Event, cmd events.TypingCommand) error {
	if _, err := messaging.Role(ctx, h.d.Pool, cmd.ConversationID, cmd.UserID); err != nil {
		return err
	}
	others, blocked, err := h.others(ctx, cmd.ConversationID, cmd.UserID)
	if err != nil {
		return err
	}
	if blocked {
		return events.Errorf(events.CodeBlocked, "this conversation is blocked")
	}
	if len(others) == 0 || len(others) > h.cfg.MaxTypingRecipients {
		return nil
	}
	data := events.TypingCommand{UserID: cmd.UserID, ConversationID: cmd.ConversationID, State: cmd.State}
	var evs []event.Event
	for i := 0; len(others) > 0; i++ {
		n := min(len(others), deliveryChunk)
		d, err := delivery(e.Source()+"\x00"+e.ID(), strconv.Itoa(i), events.TypeTypingUpdate, cmd.ConversationID, others[:n], "", data)
		if err != nil {
			return err
		}
		evs = append(evs, d)
		others = others[n:]
	}
	return h.publish(ctx, evs...)
}

// others returns the members of a conversation other than userID, and whether it is a direct
// conversation in which either member blocks the other.
func (h *Handler) others(ctx context.Context, conversationID, userID string) ([]string, bool, error) {
	rows, err := h.d.Pool.Query(ctx, `
		SELECT cm.user_id, c.type = 'direct' AND EXISTS (SELECT 1 FROM blocks b
			WHERE (b.blocker_id = cm.user_id AND b.blocked_id = $2) OR (b.blocker_id = $2 AND b.blocked_id = cm.user_id))
		FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
		WHERE cm.conversation_id = $1 AND cm.user_id <> $2`, conversationID, userID)
	if err != nil {
		return nil, false, fmt.Errorf("members: %w", err)
	}
	var ids []string
	blocked := false
	var id string
	var b bool
	_, err = pgx.ForEachRow(rows, []any{&id, &b}, func() error {
		ids = append(ids, id)
		blocked = blocked || b
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("members: %w", err)
	}
	return ids, blocked, nil
}
