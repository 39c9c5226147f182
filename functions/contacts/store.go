package contacts

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
)

// The contacts function's SQL. Callers wrap the errors with what they were doing.

const requestColumns = `id, from_user_id, to_user_id, message, status, created_at`

func scanRequest(row pgx.Row) (events.ContactRequest, error) {
	var r events.ContactRequest
	err := row.Scan(&r.ID, &r.FromUserID, &r.ToUserID, &r.Message, &r.Status, &r.CreatedAt)
	r.CreatedAt = r.CreatedAt.UTC()
	return r, err
}

// lockPair serializes, until tx ends, the requests between a and b (either direction).
func lockPair(ctx context.Context, tx pgx.Tx, a, b string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(LEAST($1::text, $2::text) || ':' || GREATEST($1::text, $2::text), 0))`,
		a, b)
	return err
}

// relation reports whether either of a and b blocks the other, and whether they are contacts.
func relation(ctx context.Context, q messaging.Querier, a, b string) (blocked, contacts bool, err error) {
	err = q.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)),
			EXISTS (SELECT 1 FROM contacts WHERE user_id = $1 AND contact_id = $2)`,
		a, b).Scan(&blocked, &contacts)
	return blocked, contacts, err
}

// blockedEitherWay reports whether either of a and b blocks the other.
func blockedEitherWay(ctx context.Context, q messaging.Querier, a, b string) (bool, error) {
	var blocked bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2)
		OR (blocker_id = $2 AND blocked_id = $1))`, a, b).Scan(&blocked)
	return blocked, err
}

// lockPendingRequest locks the pending request from to; pgx.ErrNoRows when there is none.
func lockPendingRequest(ctx context.Context, tx pgx.Tx, from, to string) (events.ContactRequest, error) {
	return scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+` FROM contact_requests
		WHERE from_user_id = $2 AND to_user_id = $1 AND status = 'pending' FOR UPDATE`, to, from))
}

// lockRequest locks request id; pgx.ErrNoRows when there is none.
func lockRequest(ctx context.Context, tx pgx.Tx, id string) (events.ContactRequest, error) {
	return scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+` FROM contact_requests WHERE id = $1 FOR UPDATE`, id))
}

// insertRequest stores a pending request (unique violation contact_requests_one_pending when one
// from the same user to the same user is pending).
func insertRequest(ctx context.Context, tx pgx.Tx, r events.ContactRequest) error {
	_, err := tx.Exec(ctx, `INSERT INTO contact_requests (id, from_user_id, to_user_id, message, created_at)
		VALUES ($1, $2, $3, $4, $5)`, r.ID, r.FromUserID, r.ToUserID, r.Message, r.CreatedAt)
	return err
}

// pendingRequests lists the pending requests whose column col (to_user_id or from_user_id) is
// userID, newest first.
func pendingRequests(ctx context.Context, q messaging.Querier, col, userID string) ([]events.ContactRequest, error) {
	rows, err := q.Query(ctx, `SELECT `+requestColumns+` FROM contact_requests
		WHERE `+col+` = $1 AND status = 'pending' ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.ContactRequest, error) { return scanRequest(r) })
}

// decideRequest sets request id's status (accepted or rejected), decided now.
func decideRequest(ctx context.Context, tx pgx.Tx, id, status string) error {
	_, err := tx.Exec(ctx, `UPDATE contact_requests SET status = $2, decided_at = now() WHERE id = $1`, id, status)
	return err
}

// insertContacts makes a and b contacts (rows both ways).
func insertContacts(ctx context.Context, tx pgx.Tx, a, b string) error {
	_, err := tx.Exec(ctx, `INSERT INTO contacts (user_id, contact_id) VALUES ($1, $2), ($2, $1) ON CONFLICT DO NOTHING`, a, b)
	return err
}

// deleteContacts removes a and b's contact rows and reports whether they were contacts.
func deleteContacts(ctx context.Context, tx pgx.Tx, a, b string) (bool, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM contacts WHERE (user_id = $1 AND contact_id = $2) OR (user_id = $2 AND contact_id = $1)`, a, b)
	return tag.RowsAffected() > 0, err
}

func insertBlock(ctx context.Context, tx pgx.Tx, blocker, blocked string) error {
	_, err := tx.Exec(ctx, `INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, blocker, blocked)
	return err
}

// rejectPending rejects the pending request from to, if any.
func rejectPending(ctx context.Context, tx pgx.Tx, from, to string) error {
	_, err := tx.Exec(ctx, `UPDATE contact_requests SET status = 'rejected', decided_at = now()
		WHERE from_user_id = $2 AND to_user_id = $1 AND status = 'pending'`, to, from)
	return err
}

func deleteBlock(ctx context.Context, q messaging.Querier, blocker, blocked string) error {
	_, err := q.Exec(ctx, `DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`, blocker, blocked)
	return err
}

// userLive reports whether user id exists and is not deleted.
func userLive(ctx context.Context, q messaging.Querier, id string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL)`, id).Scan(&ok)
	return ok, err
}
