package messaging_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// Erasure must stay complete once issue 14's migration adds content columns and reactions: given
// that schema (its 0040's columns and message_reactions, added here by hand), the erased messages
// lose those too, and the user's reactions go everywhere, while other users' rows stay.
func TestEraseSenderBlanksLaterContentColumns(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	if _, err := pool.Exec(ctx, `ALTER TABLE messages
			ADD COLUMN IF NOT EXISTS edited_at timestamptz, ADD COLUMN IF NOT EXISTS reply_to text, ADD COLUMN IF NOT EXISTS mentions text[],
			ADD COLUMN IF NOT EXISTS mention_all boolean NOT NULL DEFAULT false, ADD COLUMN IF NOT EXISTS search_text text;
		CREATE TABLE IF NOT EXISTS message_reactions (message_id text NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
			user_id text NOT NULL REFERENCES users(id), key text NOT NULL, PRIMARY KEY (message_id, key, user_id))`); err != nil {
		t.Fatal(err)
	}
	u := mt.Users(t, pool, 2)
	eraser, other := u[0], u[1]
	conv := mt.Group(t, pool, eraser, other)
	for i, m := range []struct{ id, sender string }{{"e1", eraser}, {"o1", other}} {
		if _, err := pool.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, created_at,
				edited_at, reply_to, mentions, mention_all, search_text)
			VALUES ($1, $2, $3, $4, $1, 'text', 'hello', now(), now(), 'x', ARRAY[$4], true, 'hello')`, m.id, conv, i+1, m.sender); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO message_reactions (message_id, user_id, key) VALUES
		('e1', $1, 'a'), ('e1', $2, 'b'), ('o1', $1, 'c'), ('o1', $2, 'd')`, eraser, other); err != nil {
		t.Fatal(err)
	}
	var erased []int64
	err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		out, _, err := messaging.EraseSender(ctx, tx, eraser)
		for _, e := range out {
			erased = append(erased, e.UpToSeq)
		}
		return err
	})
	if err != nil || len(erased) != 1 || erased[0] != 1 {
		t.Fatalf("EraseSender: %v %v", erased, err)
	}
	var left int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = 'e1' AND (text <> '' OR edited_at IS NOT NULL OR reply_to IS NOT NULL
		OR mentions IS NOT NULL OR mention_all OR search_text IS NOT NULL OR status <> 'erased')`).Scan(&left)
	if left != 0 {
		t.Fatal("the erased message kept content in issue 14's columns")
	}
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = 'o1' AND text = 'hello' AND edited_at IS NOT NULL AND mention_all
		AND search_text = 'hello' AND status = 'normal'`).Scan(&left)
	if left != 1 {
		t.Fatal("another user's message changed")
	}
	var keys []string
	rows, _ := pool.Query(ctx, `SELECT key FROM message_reactions ORDER BY key`)
	for rows.Next() {
		var k string
		_ = rows.Scan(&k)
		keys = append(keys, k)
	}
	if len(keys) != 1 || keys[0] != "d" {
		t.Fatalf("reactions left %v, want only the other user's on the other's message", keys)
	}
}
