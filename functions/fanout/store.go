package fanout

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// cursorAndMembers returns the conversation's delivery cursor (the highest seq delivered, 0 when
// none) and its members (nil when none), in one round trip; pgx.ErrNoRows when the conversation
// does not exist.
func (h *Handler) cursorAndMembers(ctx context.Context, conv string) (delivered int64, recipients []string, err error) {
	err = h.d.Pool.QueryRow(ctx, `SELECT coalesce((SELECT delivered_seq FROM delivery_cursors WHERE conversation_id = c.id), 0),
		(SELECT array_agg(user_id) FROM conversation_members WHERE conversation_id = c.id)
		FROM conversations c WHERE c.id = $1`, conv).Scan(&delivered, &recipients)
	return delivered, recipients, err
}

// members returns the conversation's current members plus extra (deduplicated).
func (h *Handler) members(ctx context.Context, conversationID string, extra ...string) ([]string, error) {
	rows, err := h.d.Pool.Query(ctx, `SELECT user_id FROM conversation_members WHERE conversation_id = $1`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	for _, x := range extra {
		found := false
		for _, id := range ids {
			if id == x {
				found = true
				break
			}
		}
		if !found && x != "" {
			ids = append(ids, x)
		}
	}
	return ids, nil
}

// contacts returns the accepted contacts of userID (contacts rows go both ways, so this is also
// everyone who has userID as a contact).
func (h *Handler) contacts(ctx context.Context, userID string) ([]string, error) {
	rows, err := h.d.Pool.Query(ctx, `SELECT contact_id FROM contacts WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return ids, nil
}
