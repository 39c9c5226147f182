package conversations

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
)

// viewSQL renders conversations as one member sees them, with the last message, in ONE query for
// all of a member's conversations: members index range (user_id) -> conversation by primary key ->
// last message by (conversation_id, seq); mention_count counts the caller's unread mentions through
// the partial index messages_mentioning (messages that mention anyone are few). members_count is maintained by the membership writes and
// unread_count is last_seq - read_seq (sending moves the sender's read_seq), so nothing is counted.
const viewSQL = `SELECT c.id, c.type, c.title, coalesce(c.owner_id, ''), c.members_count, c.last_seq, cm.read_seq,
	cm.role, c.updated_at,
	coalesce(m.id, ''), coalesce(m.seq, 0), coalesce(m.sender_id, ''), coalesce(m.client_msg_id, ''),
	coalesce(m.type, ''), coalesce(m.text, ''), m.payload, coalesce(m.status, ''), coalesce(m.created_at, 'epoch'),
	f.id, f.owner_id, f.filename, f.content_type, f.size, f.status, f.created_at,
	m.edited_at, m.mentions, coalesce(m.mention_all, false), p.id, p.seq, p.sender_id, p.type,
	` + messaging.ReplyPreview + `,
	(SELECT count(*) FROM messages mm WHERE mm.conversation_id = c.id AND mm.seq > cm.read_seq
	   AND (mm.mention_all OR mm.mentions IS NOT NULL) AND mm.sender_id <> cm.user_id AND mm.status = 'normal'
	   AND (mm.mention_all OR cm.user_id = ANY(mm.mentions))),
	CASE WHEN cm.muted_until > now() THEN cm.muted_until END
FROM conversation_members cm
JOIN conversations c ON c.id = cm.conversation_id
LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
LEFT JOIN files f ON f.id = m.file_id
LEFT JOIN messages p ON p.id = m.reply_to
WHERE cm.user_id = $1`

// ListSQL is the conversation list query (exported to the EXPLAIN test).
const ListSQL = viewSQL + ` ORDER BY c.updated_at DESC, c.id`

func scanView(row pgx.Row) (events.Conversation, error) {
	var c events.Conversation
	var m events.Message
	var payload []byte
	var fid, fowner, fname, fct, fstatus *string
	var fsize *int64
	var fcreated, edited *time.Time
	var pid, psender, ptype, ppreview *string
	var pseq *int64
	err := row.Scan(&c.ID, &c.Type, &c.Title, &c.OwnerID, &c.MembersCount, &c.LastSeq, &c.ReadSeq, &c.Role, &c.UpdatedAt,
		&m.ID, &m.Seq, &m.SenderID, &m.ClientMsgID, &m.Type, &m.Text, &payload, &m.Status, &m.CreatedAt,
		&fid, &fowner, &fname, &fct, &fsize, &fstatus, &fcreated,
		&edited, &m.Mentions, &m.MentionAll, &pid, &pseq, &psender, &ptype, &ppreview, &c.MentionCount, &c.MutedUntil)
	if err != nil {
		return c, err
	}
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
	c.UpdatedAt = c.UpdatedAt.UTC()
	c.MutedUntil = utcPtr(c.MutedUntil)
	c.UnreadCount = max(c.LastSeq-c.ReadSeq, 0)
	if m.ID != "" {
		m.ConversationID = c.ID
		m.CreatedAt = m.CreatedAt.UTC()
		if len(payload) > 0 {
			m.Payload = json.RawMessage(payload)
		}
		if fid != nil {
			m.File = &events.File{ID: *fid, OwnerID: *fowner, Filename: *fname, ContentType: *fct, Size: *fsize,
				Status: *fstatus, CreatedAt: fcreated.UTC()}
		}
		c.LastMessage = &m
	}
	return c, nil
}

// view returns the conversation as userID sees it, or not found when userID is not a member.
func view(ctx context.Context, q messaging.Querier, conversationID, userID string) (events.Conversation, error) {
	c, err := scanView(q.QueryRow(ctx, viewSQL+` AND cm.conversation_id = $2`, userID, conversationID))
	if messaging.IsNoRows(err) {
		return c, messaging.ErrNotFound()
	}
	if err != nil {
		return c, fmt.Errorf("conversation: %w", err)
	}
	cs := []events.Conversation{c}
	if err := lastReactions(ctx, q, userID, cs); err != nil {
		return c, err
	}
	return cs[0], nil
}

// list returns all of userID's conversations, most recently active first.
func list(ctx context.Context, q messaging.Querier, userID string) ([]events.Conversation, error) {
	rows, err := q.Query(ctx, ListSQL, userID)
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Conversation, error) { return scanView(r) })
	if err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	if out == nil {
		out = []events.Conversation{}
	}
	if err := lastReactions(ctx, q, userID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// lastReactions renders the reactions of the conversations' last messages for userID, in one query.
func lastReactions(ctx context.Context, q messaging.Querier, userID string, cs []events.Conversation) error {
	var msgs []events.Message
	for _, c := range cs {
		if c.LastMessage != nil {
			msgs = append(msgs, *c.LastMessage)
		}
	}
	if err := messaging.Reactions(ctx, q, userID, msgs); err != nil {
		return err
	}
	i := 0
	for _, c := range cs {
		if c.LastMessage != nil {
			c.LastMessage.Reactions = msgs[i].Reactions
			i++
		}
	}
	return nil
}

// shared renders a conversation without the caller-specific fields (what facts carry).
func shared(ctx context.Context, q messaging.Querier, conversationID string) (events.Conversation, error) {
	var c events.Conversation
	err := q.QueryRow(ctx, `SELECT id, type, title, coalesce(owner_id, ''), members_count, last_seq, updated_at
		FROM conversations WHERE id = $1`, conversationID).
		Scan(&c.ID, &c.Type, &c.Title, &c.OwnerID, &c.MembersCount, &c.LastSeq, &c.UpdatedAt)
	if messaging.IsNoRows(err) {
		return c, messaging.ErrNotFound()
	}
	if err != nil {
		return c, fmt.Errorf("conversation: %w", err)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

func members(ctx context.Context, q messaging.Querier, conversationID string) ([]events.Member, error) {
	rows, err := q.Query(ctx, `SELECT user_id, role, joined_at, read_seq FROM conversation_members
		WHERE conversation_id = $1 ORDER BY joined_at, user_id`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Member, error) {
		var m events.Member
		err := r.Scan(&m.UserID, &m.Role, &m.JoinedAt, &m.ReadSeq)
		m.JoinedAt = m.JoinedAt.UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return out, nil
}

// existingUsers returns which of ids are users that are not deleted.
func existingUsers(ctx context.Context, q messaging.Querier, ids []string) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT id FROM users WHERE id = ANY($1) AND deleted_at IS NULL`, ids)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// blockedEitherWay reports whether a blocks b or b blocks a.
func blockedEitherWay(ctx context.Context, q messaging.Querier, a, b string) (bool, error) {
	var blocked bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2)
		OR (blocker_id = $2 AND blocked_id = $1))`, a, b).Scan(&blocked)
	if err != nil {
		return false, fmt.Errorf("blocks: %w", err)
	}
	return blocked, nil
}

func areContacts(ctx context.Context, q messaging.Querier, a, b string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE user_id = $1 AND contact_id = $2)`, a, b).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("contacts: %w", err)
	}
	return ok, nil
}

// directKey names the pair of a direct conversation independently of who opens it.
func directKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// readBy returns the members whose read position is at or past seq, by user id.
func readBy(ctx context.Context, q messaging.Querier, conversationID string, seq int64) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND read_seq >= $2
		ORDER BY user_id`, conversationID, seq)
	if err != nil {
		return nil, fmt.Errorf("read by: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read by: %w", err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// setMute sets userID's mute of the conversation (nil unmutes) and returns what is stored now, as
// the settings answer renders it: nil unless in the future. Not found for a stranger.
func setMute(ctx context.Context, q messaging.Querier, conversationID, userID string, until *time.Time) (*time.Time, error) {
	var now *time.Time
	err := q.QueryRow(ctx, `UPDATE conversation_members SET muted_until = $3 WHERE conversation_id = $1 AND user_id = $2
		RETURNING CASE WHEN muted_until > now() THEN muted_until END`, conversationID, userID, until).Scan(&now)
	if messaging.IsNoRows(err) {
		return nil, messaging.ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("mute: %w", err)
	}
	return utcPtr(now), nil
}

// mute reads userID's mute as setMute answers it.
func mute(ctx context.Context, q messaging.Querier, conversationID, userID string) (*time.Time, error) {
	var now *time.Time
	err := q.QueryRow(ctx, `SELECT CASE WHEN muted_until > now() THEN muted_until END FROM conversation_members
		WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID).Scan(&now)
	if messaging.IsNoRows(err) {
		return nil, messaging.ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("mute: %w", err)
	}
	return utcPtr(now), nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// directID returns the id of the direct conversation of key (directKey); pgx.ErrNoRows when none.
func directID(ctx context.Context, q messaging.Querier, key string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM conversations WHERE direct_key = $1`, key).Scan(&id)
	return id, err
}

// insertDirect creates direct conversation id of key between a and b; false when one of key exists.
func insertDirect(ctx context.Context, tx pgx.Tx, id, key, a, b string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO conversations (id, type, direct_key, members_count) VALUES ($1, 'direct', $2, 2)
		ON CONFLICT (direct_key) DO NOTHING`, id, key)
	if err != nil {
		return false, fmt.Errorf("create direct: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role)
		VALUES ($1, $2, 'member'), ($1, $3, 'member')`, id, a, b); err != nil {
		return false, fmt.Errorf("create direct members: %w", err)
	}
	return true, nil
}

// insertGroup creates group id owned by owner with members all (the owner among them).
func insertGroup(ctx context.Context, tx pgx.Tx, id, title, owner string, all []string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO conversations (id, type, title, owner_id, members_count)
		VALUES ($1, 'group', $2, $3, $4)`, id, title, owner, len(all)); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role)
		SELECT $1, u, CASE WHEN u = $3 THEN 'owner' ELSE 'member' END FROM unnest($2::text[]) AS u`,
		id, all, owner); err != nil {
		return fmt.Errorf("create group members: %w", err)
	}
	return nil
}

// membership returns userID's role in the conversation and its type; pgx.ErrNoRows for a stranger.
func membership(ctx context.Context, q messaging.Querier, convID, userID string) (role, typ string, err error) {
	err = q.QueryRow(ctx, `SELECT cm.role, c.type FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
		WHERE cm.conversation_id = $1 AND cm.user_id = $2`, convID, userID).Scan(&role, &typ)
	return role, typ, err
}

func rename(ctx context.Context, tx pgx.Tx, convID, title string) error {
	_, err := tx.Exec(ctx, `UPDATE conversations SET title = $2, updated_at = now() WHERE id = $1`, convID, title)
	return err
}

// lockMembersCount locks the conversation row and returns its members_count.
func lockMembersCount(ctx context.Context, tx pgx.Tx, convID string) (int, error) {
	var count int
	if err := tx.QueryRow(ctx, `SELECT members_count FROM conversations WHERE id = $1 FOR UPDATE`, convID).Scan(&count); err != nil {
		return 0, fmt.Errorf("lock conversation: %w", err)
	}
	return count, nil
}

// insertMembers adds ids as members (read up to now) and returns those who were not members yet.
func insertMembers(ctx context.Context, tx pgx.Tx, convID string, ids []string) ([]string, error) {
	rows, err := tx.Query(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role, read_seq)
		SELECT $1, u, 'member', c.last_seq FROM unnest($2::text[]) AS u, conversations c WHERE c.id = $1
		ON CONFLICT DO NOTHING RETURNING user_id`, convID, ids)
	if err != nil {
		return nil, fmt.Errorf("add members: %w", err)
	}
	added, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("add members: %w", err)
	}
	return added, nil
}

// addMembersCount moves members_count by n (negative: members left).
func addMembersCount(ctx context.Context, tx pgx.Tx, convID string, n int) error {
	if _, err := tx.Exec(ctx, `UPDATE conversations SET members_count = members_count + $2, updated_at = now() WHERE id = $1`,
		convID, n); err != nil {
		return fmt.Errorf("members_count: %w", err)
	}
	return nil
}

// deleteMember removes target (never the owner) and reports whether it was a member.
func deleteMember(ctx context.Context, tx pgx.Tx, convID, target string) (bool, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2 AND role <> 'owner'`, convID, target)
	if err != nil {
		return false, fmt.Errorf("remove member: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// handOver makes to the owner of the group and from, the owner so far, an admin (setRole then sets
// to's role).
func handOver(ctx context.Context, tx pgx.Tx, convID, from, to string) error {
	if _, err := tx.Exec(ctx, `UPDATE conversation_members SET role = 'admin' WHERE conversation_id = $1 AND user_id = $2`, convID, from); err != nil {
		return fmt.Errorf("hand over: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE conversations SET owner_id = $2 WHERE id = $1`, convID, to); err != nil {
		return fmt.Errorf("hand over: %w", err)
	}
	return nil
}

func setRole(ctx context.Context, tx pgx.Tx, convID, target, role string) error {
	if _, err := tx.Exec(ctx, `UPDATE conversation_members SET role = $3 WHERE conversation_id = $1 AND user_id = $2`, convID, target, role); err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE conversations SET updated_at = now() WHERE id = $1`, convID); err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}
