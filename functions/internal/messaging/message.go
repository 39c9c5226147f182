package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
)

// MessageColumns selects a message as ScanMessage reads it; the query must alias messages as m and
// LEFT JOIN files as f ON f.id = m.file_id.
const MessageColumns = `m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.type, m.text, m.payload,
	m.status, m.created_at, f.id, f.owner_id, f.filename, f.content_type, f.size, f.status, f.created_at`

// MessageFrom is the FROM clause MessageColumns needs.
const MessageFrom = `messages m LEFT JOIN files f ON f.id = m.file_id`

// ScanMessage reads one row selected with MessageColumns.
func ScanMessage(row pgx.Row) (events.Message, error) {
	var m events.Message
	var payload []byte
	var fid, fowner, fname, fct, fstatus *string
	var fsize *int64
	var fcreated *time.Time
	if err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.SenderID, &m.ClientMsgID, &m.Type, &m.Text, &payload,
		&m.Status, &m.CreatedAt, &fid, &fowner, &fname, &fct, &fsize, &fstatus, &fcreated); err != nil {
		return m, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if len(payload) > 0 {
		m.Payload = json.RawMessage(payload)
	}
	if fid != nil {
		m.File = &events.File{ID: *fid, OwnerID: *fowner, Filename: *fname, ContentType: *fct, Size: *fsize,
			Status: *fstatus, CreatedAt: fcreated.UTC()}
	}
	return m, nil
}

// LoadMessage reads one message by id; pgx.ErrNoRows when it does not exist.
func LoadMessage(ctx context.Context, q Querier, id string) (events.Message, error) {
	return ScanMessage(q.QueryRow(ctx, `SELECT `+MessageColumns+` FROM `+MessageFrom+` WHERE m.id = $1`, id))
}

// Page is one page of history.
type Page struct {
	AfterSeq, BeforeSeq int64 // exclusive bounds; 0 = unbounded
	// Forward pages up from AfterSeq (the client asked with after_seq, even after_seq=0: a client
	// that has nothing syncs from the start); otherwise the page is the newest below BeforeSeq.
	Forward bool
	Limit   int
}

// History returns a page of a conversation's messages in ascending seq order. Forward, it
// pages forward from there (has_more: newer messages exist, the client's sync loop); otherwise it
// returns the newest messages below BeforeSeq (has_more: older ones exist, scrolling back).
// The caller has checked membership.
func History(ctx context.Context, q Querier, conversationID string, p Page) ([]events.Message, bool, error) {
	before := p.BeforeSeq
	if before <= 0 {
		before = 1<<63 - 1
	}
	order := "DESC"
	if p.Forward {
		order = "ASC"
	}
	rows, err := q.Query(ctx, `SELECT `+MessageColumns+` FROM `+MessageFrom+`
		WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq < $3 ORDER BY m.seq `+order+` LIMIT $4`,
		conversationID, p.AfterSeq, before, p.Limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("history: %w", err)
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Message, error) { return ScanMessage(r) })
	if err != nil {
		return nil, false, fmt.Errorf("history: %w", err)
	}
	more := len(msgs) > p.Limit
	if more {
		msgs = msgs[:p.Limit]
	}
	if order == "DESC" {
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i]
		}
	}
	if msgs == nil {
		msgs = []events.Message{}
	}
	return msgs, more, nil
}

// IsNoRows reports a missing row.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
