package send

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/infra/postgres"
)

// store is send's PostgreSQL side.
type store struct {
	pool      *pgxpool.Pool
	topic     string        // the outbox rows' (the relay's)
	maxBehind int64         // refuse sends while this many messages of the conversation await delivery
	stall     time.Duration // ... unless the cursor has not advanced for this long
	log       *slog.Logger
}

// newMessage is what insert writes. Event is the im.message.created CloudEvent in structured JSON
// with seq 0: the statement patches in the seq it assigns, so the outbox row is the exact fact.
type newMessage struct {
	msg     events.Message
	fileID  *string
	payload []byte
	eventID string
	event   []byte
}

// insertSQL stores a message in one statement, which is its own transaction: the membership and
// block check, the seq increment (the conversation row lock orders concurrent senders; a rollback
// undoes the increment, so seqs stay gapless), the message row, the sender's read position and the
// outbox row commit together or not at all. One round trip per message. A conversation whose
// delivery is maxBehind or more messages behind (fanout's cursor, delivery_cursors) takes no more
// while fanout is advancing it: overload is refused at the source, on both paths, instead of
// queueing pushes nobody gets in time. A cursor that has not moved for stall is not overload but
// lost facts (dead-lettered in a broker outage): refusing then would lock the conversation for
// good, since only a newer message's fact moves the cursor (its delivery fills the gap).
//
// v1.1: a reply's parent must be a message of the conversation, every mentioned id a member, and
// mention_all comes from an owner or admin of a group; checked in the same statement, so they hold
// at commit (a member removed meanwhile cannot be mentioned). It also answers whether another
// member could be pushed the message (events.ExtPush; always yes above pushCheckMembers members),
// and marks the outbox row's fact so.
const insertSQL = `
WITH chk AS (
	SELECT EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2) AS member,
	       c.type = 'direct' AND EXISTS (
	           SELECT 1 FROM conversation_members o JOIN blocks b
	             ON (b.blocker_id = o.user_id AND b.blocked_id = $2) OR (b.blocker_id = $2 AND b.blocked_id = o.user_id)
	           WHERE o.conversation_id = $1 AND o.user_id <> $2) AS blocked,
	       c.last_seq - coalesce(d.delivered_seq, 0) >= $13 AND coalesce(d.advanced_at, c.created_at) > now() - make_interval(secs => $14) AS behind,
	       $15::text IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.id = $15 AND r.conversation_id = $1) AS reply_ok,
	       $16::text[] IS NULL OR (SELECT count(*) FROM conversation_members WHERE conversation_id = $1 AND user_id = ANY($16)) = cardinality($16) AS mentions_ok,
	       NOT $17 OR (c.type = 'group' AND EXISTS (SELECT 1 FROM conversation_members
	           WHERE conversation_id = $1 AND user_id = $2 AND role IN ('owner', 'admin'))) AS all_ok
	FROM conversations c LEFT JOIN delivery_cursors d ON d.conversation_id = c.id WHERE c.id = $1
), next AS (
	UPDATE conversations SET last_seq = last_seq + 1, updated_at = $9
	WHERE id = $1 AND (SELECT member AND NOT blocked AND NOT behind AND reply_ok AND mentions_ok AND all_ok FROM chk)
	RETURNING last_seq
), msg AS (
	INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, file_id, payload, created_at,
	                      reply_to, mentions, mention_all, search_text)
	SELECT $3, $1, next.last_seq, $2, $4, $5, $6, $7, $8, $9, $15, $16, $17, $18 FROM next
	RETURNING seq
), mark AS (
	UPDATE conversation_members SET read_seq = msg.seq FROM msg
	WHERE conversation_id = $1 AND user_id = $2 AND read_seq < msg.seq
), push AS (
	SELECT EXISTS (SELECT 1 FROM msg) AND (
		(SELECT count(*) FROM (SELECT 1 FROM conversation_members WHERE conversation_id = $1 LIMIT ` + pushCheckMembers + ` + 1) x) > ` + pushCheckMembers + `
		OR EXISTS (SELECT 1 FROM conversation_members cm JOIN push_devices d ON d.user_id = cm.user_id
			WHERE cm.conversation_id = $1 AND cm.user_id <> $2
			  AND (cm.muted_until IS NULL OR cm.muted_until <= now() OR $17 OR cm.user_id = ANY($16)))) AS yes
), fact AS (
	` + postgres.OutboxInsert + `
	SELECT $10, $11, CASE WHEN push.yes THEN jsonb_set(f, '{` + events.ExtPush + `}', '"true"') ELSE f END
	FROM msg, push, jsonb_set($12::jsonb, '{data,message,seq}', to_jsonb(msg.seq)) AS f
)
SELECT coalesce((SELECT member FROM chk), false), coalesce((SELECT blocked FROM chk), false),
       coalesce((SELECT behind FROM chk), false), coalesce((SELECT reply_ok FROM chk), true),
       coalesce((SELECT mentions_ok FROM chk), true), coalesce((SELECT all_ok FROM chk), true),
       coalesce((SELECT seq FROM msg), 0), (SELECT yes FROM push)`

// pushCheckMembers: a conversation with more members is always marked events.ExtPush and left to
// the push function's own device lookup, as before the mark existed. Looking for a device among all
// members of a big group would cost every send O(members) while it holds the conversation's row
// lock (measured: 10 ms per send in a 5,000-member group, its push p99 312 -> 469 ms).
const pushCheckMembers = "100"

// verdict is insertSQL's answer: its checks and the seq it assigned (0 when refused).
type verdict struct {
	member, blocked, behind, replyOK, mentionsOK, allOK bool
	seq                                                 int64
	push                                                bool // events.ExtPush
}

// dest is what Scan fills.
func (v *verdict) dest() []any {
	return []any{&v.member, &v.blocked, &v.behind, &v.replyOK, &v.mentionsOK, &v.allOK, &v.seq, &v.push}
}

// args are insertSQL's parameters for m.
func (s *store) args(m newMessage) []any {
	var payload any
	if len(m.payload) > 0 {
		payload = []byte(m.payload)
	}
	var replyTo, searchText *string
	if m.msg.ReplyTo != nil {
		replyTo = &m.msg.ReplyTo.ID
	}
	if m.msg.Type == events.MessageText {
		st := messaging.SearchText(m.msg.Text)
		searchText = &st
	}
	var mentions []string // nil is NULL: no mentions
	if len(m.msg.Mentions) > 0 {
		mentions = m.msg.Mentions
	}
	return []any{m.msg.ConversationID, m.msg.SenderID, m.msg.ID, m.msg.ClientMsgID,
		m.msg.Type, m.msg.Text, m.fileID, payload, m.msg.CreatedAt, m.eventID, s.topic, m.event, s.maxBehind,
		s.stall.Seconds(), replyTo, mentions, m.msg.MentionAll, searchText}
}

// insert stores m in its own statement. It returns the statement's verdict (the assigned seq,
// whether another member may be pushed), or a not-found / blocked error; a duplicate (sender,
// client_msg_id) is reported as errDuplicate.
func (s *store) insert(ctx context.Context, m newMessage) (verdict, error) {
	var v verdict
	err := s.pool.QueryRow(ctx, insertSQL, s.args(m)...).Scan(v.dest()...)
	switch {
	case postgres.IsUniqueViolation(err, "messages_sender_client_msg"):
		return verdict{}, errDuplicate
	case err != nil:
		return verdict{}, fmt.Errorf("insert message: %w", err)
	}
	return v, v.refusal()
}

// refusal is the error of a message the statement did not store.
func (v verdict) refusal() error {
	switch {
	case !v.member:
		return messaging.ErrNotFound()
	case v.blocked:
		return events.Errorf(events.CodeBlocked, "this conversation is blocked")
	case !v.replyOK:
		return events.Invalid("reply_to", "is not a message of this conversation")
	case !v.mentionsOK:
		return events.Invalid("mentions", "must be members of this conversation")
	case !v.allOK:
		return events.Errorf(events.CodeForbidden, "only the owner or an admin of a group may mention everyone")
	case v.behind:
		return errBehind
	}
	return nil
}

// parent returns the message replied to as a reply shows it, and whether userID is a member of the
// conversation (a stranger must get 404, not learn whether the id exists). ok is false when the id
// is no message of this conversation.
func (s *store) parent(ctx context.Context, conversationID, userID, id string) (p events.ReplyTo, member, ok bool, err error) {
	var seq *int64
	var sender, typ, preview *string
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2),
		p.seq, p.sender_id, p.type, `+messaging.ReplyPreview+`
		FROM (SELECT 1) x LEFT JOIN messages p ON p.id = $3 AND p.conversation_id = $1`, conversationID, userID, id).
		Scan(&member, &seq, &sender, &typ, &preview)
	if err != nil {
		return p, false, false, fmt.Errorf("reply parent: %w", err)
	}
	if seq == nil {
		return p, member, false, nil
	}
	return events.ReplyTo{ID: id, Seq: *seq, SenderID: *sender, Type: *typ, TextPreview: *preview}, member, true, nil
}

// errBehind refuses a send while its conversation's deliveries are behind (insertSQL).
var errBehind = &events.Error{Code: events.CodeUnavailable, RetryAfter: time.Second,
	Message: "overloaded: this conversation's deliveries are behind; retry shortly with the same client_msg_id"}

// errQueued refuses an HTTP send that waited past Config.HTTPQueueDeadline for its commit: nothing
// was stored.
var errQueued = &events.Error{Code: events.CodeUnavailable, RetryAfter: time.Second,
	Message: "overloaded: the send waited too long to be stored and was not; retry shortly with the same client_msg_id"}

// original returns the message a sender already stored under clientMsgID.
func (s *store) original(ctx context.Context, senderID, clientMsgID string) (events.Message, error) {
	m, err := messaging.ScanMessage(s.pool.QueryRow(ctx, `SELECT `+messaging.MessageColumns+` FROM `+messaging.MessageFrom+`
		WHERE m.sender_id = $1 AND m.client_msg_id = $2`, senderID, clientMsgID))
	if err != nil {
		return m, fmt.Errorf("load original message: %w", err)
	}
	return m, nil
}

// file returns a file's metadata and whether it exists.
func (s *store) file(ctx context.Context, id string) (events.File, bool, error) {
	var f events.File
	err := s.pool.QueryRow(ctx, `SELECT id, owner_id, filename, content_type, size, status, created_at FROM files WHERE id = $1`, id).
		Scan(&f.ID, &f.OwnerID, &f.Filename, &f.ContentType, &f.Size, &f.Status, &f.CreatedAt)
	if messaging.IsNoRows(err) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("load file: %w", err)
	}
	f.CreatedAt = f.CreatedAt.UTC()
	return f, true, nil
}
