package messaging

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
)

// RevokeLocked recalls message id in tx for actorID, whose right to do so the caller has checked
// with the row locked (SELECT ... FOR UPDATE): content cleared in storage, status revoked, and the
// im.message.revoked fact added to outbox. A message already revoked or erased is returned as it
// is, with no fact (nil). The revoke function and the reports queue's revoke_message share it, so an
// admin's revoke of a reported message is exactly the recall members see.
func RevokeLocked(ctx context.Context, tx pgx.Tx, outbox Outbox, source, id, actorID string) (events.Message, *event.Event, error) {
	tag, err := tx.Exec(ctx, `UPDATE messages SET status = 'revoked', text = '', file_id = NULL, payload = NULL,
		revoked_at = now(), revoked_by = $2 WHERE id = $1 AND status = 'normal'`, id, actorID)
	if err != nil {
		return events.Message{}, nil, fmt.Errorf("revoke: %w", err)
	}
	msg, err := LoadMessage(ctx, tx, id)
	if err != nil || tag.RowsAffected() == 0 {
		return msg, nil, err
	}
	e, err := NewFact(ctx, source, events.TypeMessageRevoked, msg.ConversationID, events.MessageFact{Message: msg, ActorID: actorID})
	if err != nil {
		return msg, nil, err
	}
	if err := outbox.Add(ctx, tx, e); err != nil {
		return msg, nil, err
	}
	return msg, &e, nil
}
