package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
)

// MessageColumns selects a message as ScanMessage reads it; the query must use MessageFrom (messages
// as m, its file as f, its reply parent as p). Reactions are not columns: Reactions adds them.
const MessageColumns = `m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.type, m.text, m.payload,
	m.status, m.created_at, f.id, f.owner_id, f.filename, f.content_type, f.size, f.status, f.created_at,
	m.edited_at, m.mentions, m.mention_all, p.id, p.seq, p.sender_id, p.type, ` + ReplyPreview

// ReplyPreview is a reply's text_preview computed on read from its parent p (API.md: the first 100
// characters of the current text, "" for a non-text parent and once it is revoked or erased).
// PostgreSQL's left counts characters of a UTF-8 database, as API.md counts them.
const ReplyPreview = `CASE WHEN p.type = 'text' AND p.status = 'normal' THEN left(p.text, 100) ELSE '' END`

// MessageFrom is the FROM clause MessageColumns needs.
const MessageFrom = `messages m LEFT JOIN files f ON f.id = m.file_id LEFT JOIN messages p ON p.id = m.reply_to`

// ScanMessage reads one row selected with MessageColumns.
func ScanMessage(row pgx.Row) (events.Message, error) {
	var m events.Message
	var payload []byte
	var fid, fowner, fname, fct, fstatus *string
	var fsize *int64
	var fcreated, edited *time.Time
	var pid, psender, ptype, ppreview *string
	var pseq *int64
	if err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.SenderID, &m.ClientMsgID, &m.Type, &m.Text, &payload,
		&m.Status, &m.CreatedAt, &fid, &fowner, &fname, &fct, &fsize, &fstatus, &fcreated,
		&edited, &m.Mentions, &m.MentionAll, &pid, &pseq, &psender, &ptype, &ppreview); err != nil {
		return m, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if edited != nil {
		e := edited.UTC()
		m.EditedAt = &e
	}
	if pid != nil {
		m.ReplyTo = &events.ReplyTo{ID: *pid, Seq: *pseq, SenderID: *psender, Type: *ptype, TextPreview: *ppreview}
	}
	if len(m.Mentions) == 0 {
		m.Mentions = nil
	}
	if len(payload) > 0 {
		m.Payload = json.RawMessage(payload)
	}
	if fid != nil {
		m.File = &events.File{ID: *fid, OwnerID: *fowner, Filename: *fname, ContentType: *fct, Size: *fsize,
			Status: *fstatus, CreatedAt: fcreated.UTC()}
	}
	return m, nil
}

// LoadMessage reads one message by id as viewer sees it (reactions' me; "" renders them without
// me, as facts and pushes carry them); pgx.ErrNoRows when it does not exist.
func LoadMessage(ctx context.Context, q Querier, id, viewer string) (events.Message, error) {
	m, err := ScanMessage(q.QueryRow(ctx, `SELECT `+MessageColumns+` FROM `+MessageFrom+` WHERE m.id = $1`, id))
	if err != nil {
		return m, err
	}
	ms := []events.Message{m}
	if err := Reactions(ctx, q, viewer, ms); err != nil {
		return m, err
	}
	return ms[0], nil
}

// Reactions fills in the reactions of msgs in one query: per message, each key with its count,
// first-used key first, and me (whether viewer reacted with it) unless viewer is "". Messages that
// are not normal (revoked, erased) show none (API.md).
func Reactions(ctx context.Context, q Querier, viewer string, msgs []events.Message) error {
	ids := make([]string, 0, len(msgs))
	at := make(map[string]int, len(msgs))
	for i, m := range msgs {
		msgs[i].Reactions = nil
		if m.Status == events.StatusNormal {
			ids = append(ids, m.ID)
			at[m.ID] = i
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT message_id, key, count(*), coalesce(bool_or(user_id = $2), false)
		FROM message_reactions WHERE message_id = ANY($1) GROUP BY message_id, key ORDER BY message_id, min(id)`, ids, viewer)
	if err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var r events.Reaction
		var me bool
		if err := rows.Scan(&id, &r.Key, &r.Count, &me); err != nil {
			return fmt.Errorf("reactions: %w", err)
		}
		if viewer != "" {
			r.Me = &me
		}
		i := at[id]
		msgs[i].Reactions = append(msgs[i].Reactions, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	return nil
}

// Page is one page of history.
type Page struct {
	AfterSeq, BeforeSeq int64 // exclusive bounds; 0 = unbounded
	// Viewer renders reactions' me for that user; "" renders them without (facts, pushes).
	Viewer string
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
	if err := Reactions(ctx, q, p.Viewer, msgs); err != nil {
		return nil, false, err
	}
	return msgs, more, nil
}

// SearchText is what search matches a text message by (messages.search_text): text under Unicode
// simple case folding, one code point for one (so a folded query is a substring of it exactly when
// the query matches the text case-insensitively). Written in Go at insert and edit rather than by
// PostgreSQL's lower(), which follows the database's locale and is not case folding (ſ, K, ς).
func SearchText(text string) string {
	return strings.Map(foldRune, text)
}

// foldRune maps r to one representative of its simple case folding orbit (unicode.SimpleFold walks
// the orbit: S, s, ſ): the lower case of its smallest member when that is in the orbit (for most
// scripts the familiar lower case), else the smallest member itself (İ has no simple folding, and
// its lower case i belongs to another orbit).
func foldRune(r rune) rune {
	smallest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		smallest = min(smallest, f)
	}
	if l := unicode.ToLower(smallest); orbitHas(smallest, l) {
		return l
	}
	return smallest
}

// orbitHas reports whether x is in r's simple case folding orbit.
func orbitHas(r, x rune) bool {
	if r == x {
		return true
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == x {
			return true
		}
	}
	return false
}

// IsNoRows reports a missing row.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
