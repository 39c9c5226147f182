package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
)

// Contacts lists userID's contacts as GET /v1/contacts answers them (and the data export copies
// them): oldest first, deleted users left out.
func Contacts(ctx context.Context, q Querier, userID string) ([]events.Contact, error) {
	rows, err := q.Query(ctx, `SELECT u.id, u.username, coalesce(u.display_name, ''), coalesce(u.avatar_url, ''),
			u.created_at, c.created_at
		FROM contacts c JOIN users u ON u.id = c.contact_id
		WHERE c.user_id = $1 AND u.deleted_at IS NULL ORDER BY c.created_at, u.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Contact, error) {
		var c events.Contact
		var created, since time.Time
		err := r.Scan(&c.User.ID, &c.User.Username, &c.User.DisplayName, &c.User.AvatarURL, &created, &since)
		c.User.CreatedAt, c.Since = created.UTC(), since.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	if out == nil {
		out = []events.Contact{}
	}
	return out, nil
}
