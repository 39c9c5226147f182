package messaging

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/postgres"
)

// RevokeLocked recalls message id in tx for actorID, whose right to do so the caller has checked
// with the row locked (SELECT ... FOR UPDATE): content cleared in storage (search_text with the
// text: search never finds a revoked message), status revoked, the message unpinned (API.md
// "Pins"), and the im.message.revoked fact (plus im.conversation.pinned when it was pinned)
// emitted (postgres.Outbox.InTx). A message already revoked or erased is returned as it is, with no fact. The revoke
// function and the reports queue's revoke_message share it, so an admin's revoke of a reported
// message is exactly the recall members see.
func RevokeLocked(ctx context.Context, tx pgx.Tx, emit postgres.Emit, source, id, actorID string) (events.Message, error) {
	tag, err := tx.Exec(ctx, `UPDATE messages SET status = 'revoked', text = '', file_id = NULL, payload = NULL,
		search_text = NULL, revoked_at = now(), revoked_by = $2 WHERE id = $1 AND status = 'normal'`, id, actorID)
	if err != nil {
		return events.Message{}, fmt.Errorf("revoke: %w", err)
	}
	msg, err := LoadMessage(ctx, tx, id, "")
	if err != nil || tag.RowsAffected() == 0 {
		return msg, err
	}
	e, err := NewFact(ctx, source, events.TypeMessageRevoked, msg.ConversationID, events.MessageFact{Message: msg, ActorID: actorID})
	if err != nil {
		return msg, err
	}
	facts := []event.Event{e}
	unpinned, err := tx.Exec(ctx, `DELETE FROM pins WHERE conversation_id = $1 AND message_id = $2`, msg.ConversationID, msg.ID)
	if err != nil {
		return msg, fmt.Errorf("unpin: %w", err)
	}
	if unpinned.RowsAffected() > 0 {
		p, err := NewFact(ctx, source, events.TypeConversationPinned, msg.ConversationID, events.ConversationPinned{
			ConversationID: msg.ConversationID, MessageID: msg.ID, Pinned: false, UserID: actorID, PinnedAt: Now()})
		if err != nil {
			return msg, err
		}
		facts = append(facts, p)
	}
	emit(facts...)
	return msg, nil
}
