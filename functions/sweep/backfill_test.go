package sweep_test

import (
	"context"
	"testing"

	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/sweep"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// TestBackfillSearch: messages stored without search_text (before migration 0040) get it, folded in
// Go, batch by batch; revoked and non-text messages stay without; the walk ends and stays ended.
func TestBackfillSearch(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	u := mt.Users(t, pool, 1)
	conv := mt.Group(t, pool, u[0])
	type row struct{ id, typ, status, text string }
	var rows []row
	for i, r := range []row{{typ: "text", status: "normal", text: "Hello ΣΊΣΥΦΟΣ"}, {typ: "text", status: "revoked", text: ""},
		{typ: "custom", status: "normal", text: ""}, {typ: "text", status: "normal", text: "大家你好啊"}, {typ: "text", status: "normal", text: "Straße"}} {
		r.id = messaging.NewID()
		if _, err := pool.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, status, created_at, payload)
			VALUES ($1, $2, $3, $4, $1, $5, $6, $7, now(), CASE WHEN $5 = 'custom' THEN '{}'::json END)`,
			r.id, conv, i+1, u[0], r.typ, r.text, r.status); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	total, passes := 0, 0
	for {
		n, done, err := sweep.BackfillSearch(ctx, pool, 2)
		if err != nil {
			t.Fatal(err)
		}
		total, passes = total+n, passes+1
		if done {
			break
		}
		if passes > 10 {
			t.Fatal("backfill never ends")
		}
	}
	if total != 3 || passes != 3 {
		t.Fatalf("backfilled %d rows in %d batches; want 3 in 3 (batches of 2 over 5 rows)", total, passes)
	}
	for _, r := range rows {
		var st *string
		if err := pool.QueryRow(ctx, `SELECT search_text FROM messages WHERE id = $1`, r.id).Scan(&st); err != nil {
			t.Fatal(err)
		}
		want := r.typ == "text" && r.status == "normal"
		if (st != nil) != want || (st != nil && *st != messaging.SearchText(r.text)) {
			t.Fatalf("%+v: search_text %v", r, st)
		}
	}
	if n, done, err := sweep.BackfillSearch(ctx, pool, 2); n != 0 || !done || err != nil {
		t.Fatalf("after the end: %d %v %v", n, done, err)
	}
}
