package revoke_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/revoke"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

func setup(t *testing.T) (*pgxpool.Pool, *mt.Publisher, http.Handler) {
	pool, _ := pgtest.New(t)
	ob, pub := mt.Outbox(pool)
	h, err := revoke.New(revoke.Config{Window: time.Minute}, revoke.Deps{Pool: pool, Outbox: ob, Log: mt.Log()}).
		Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	return pool, pub, h
}

// message stores a text message of sender sent age ago and returns its id.
func message(t *testing.T, pool *pgxpool.Pool, conv, sender string, age time.Duration) string {
	t.Helper()
	id := messaging.NewID()
	if _, err := pool.Exec(context.Background(), `WITH c AS (UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq)
		INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, created_at)
		SELECT $1, $2, c.last_seq, $3, $1, 'text', 'secret', $4 FROM c`, id, conv, sender, time.Now().Add(-age)); err != nil {
		t.Fatal(err)
	}
	return id
}

func command(t *testing.T, id, user, msgID string) event.Event {
	t.Helper()
	e, err := events.New(id, "/edge/test", events.TypeMessageRevoke, msgID, events.RevokeCommand{UserID: user, MessageID: msgID})
	if err != nil {
		t.Fatal(err)
	}
	e.SetExtension(events.ExtCorrelationID, "edge-1/s-1/"+id)
	return e
}

func rejection(t *testing.T, code int, reply *event.Event, want events.Code, corr string) {
	t.Helper()
	if code != 200 || reply == nil || reply.Type() != events.TypeCommandRejected {
		t.Fatalf("want a rejection reply, got %d %v", code, reply)
	}
	rj, err := events.Decode[events.CommandRejected](*reply)
	if err != nil || rj.Code != want || rj.CorrelationID != corr || events.StringExtension(*reply, events.ExtCorrelationID) != corr {
		t.Fatalf("rejection %+v %v; want %s for %s", rj, err, want, corr)
	}
}

func TestRevokeCommandPaths(t *testing.T) {
	pool, pub, h := setup(t)
	u := mt.Users(t, pool, 4)
	owner, sender, other, stranger := u[0], u[1], u[2], u[3]
	conv := mt.Group(t, pool, owner, sender, other)
	fresh := message(t, pool, conv, sender, 0)
	old := message(t, pool, conv, sender, time.Hour)

	// Success: the sender within the window; the fact carries the correlation id; no reply.
	code, reply := mt.PostEvent(t, h, command(t, "c1", sender, fresh))
	if code != 200 || reply != nil {
		t.Fatalf("revoke: %d %v", code, reply)
	}
	facts := mt.OutboxRows(t, pool, events.TypeMessageRevoked)
	if len(facts) != 1 || events.StringExtension(facts[0], events.ExtCorrelationID) != "edge-1/s-1/c1" {
		t.Fatalf("%d revoked facts", len(facts))
	}
	f, err := events.Decode[events.MessageFact](facts[0])
	if err != nil || f.Message.ID != fresh || f.Message.Status != events.StatusRevoked || f.Message.Text != "" || f.ActorID != sender {
		t.Fatalf("fact %+v %v", f, err)
	}
	if len(pub.Published(events.TypeMessageRevoked)) != 1 {
		t.Fatal("fact not published")
	}
	// A redelivered command answers again without a second fact.
	if code, reply := mt.PostEvent(t, h, command(t, "c1", sender, fresh)); code != 200 || reply != nil {
		t.Fatalf("redelivery: %d %v", code, reply)
	}
	if n := len(mt.OutboxRows(t, pool, events.TypeMessageRevoked)); n != 1 {
		t.Fatalf("%d facts after redelivery", n)
	}

	// Refusals are replies with the command's correlation id.
	code, reply = mt.PostEvent(t, h, command(t, "c2", sender, old))
	rejection(t, code, reply, events.CodeRevokeWindowExpired, "edge-1/s-1/c2")
	code, reply = mt.PostEvent(t, h, command(t, "c3", other, old))
	rejection(t, code, reply, events.CodeForbidden, "edge-1/s-1/c3")
	code, reply = mt.PostEvent(t, h, command(t, "c4", stranger, old))
	rejection(t, code, reply, events.CodeNotFound, "edge-1/s-1/c4")
	code, reply = mt.PostEvent(t, h, command(t, "c5", sender, "no-such-message"))
	rejection(t, code, reply, events.CodeNotFound, "edge-1/s-1/c5")
	if n := len(mt.OutboxRows(t, pool, events.TypeMessageRevoked)); n != 1 {
		t.Fatalf("refusals wrote facts: %d", n)
	}

	// The owner may revoke any time.
	if code, reply := mt.PostEvent(t, h, command(t, "c6", owner, old)); code != 200 || reply != nil {
		t.Fatalf("owner revoke: %d %v", code, reply)
	}

	// Poison -> 400.
	e := command(t, "c7", sender, old)
	for name, body := range map[string]string{"not json": `nope`, "missing user": `{"message_id":"x"}`, "wrong shape": `{"user_id":[]}`} {
		if code, reply := mt.PostBinary(t, h, e, []byte(body)); code != 400 || reply != nil {
			t.Errorf("%s: %d %v; want 400", name, code, reply)
		}
	}
	foreign := e.Clone()
	foreign.SetType(events.TypeMessageRead)
	if code, _ := mt.PostEvent(t, h, foreign); code != 400 {
		t.Errorf("foreign type: %d", code)
	}
}

func TestRevokeHTTP(t *testing.T) {
	pool, _, h := setup(t)
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	id := message(t, pool, conv, u[1], 0)
	var r events.MessageResponse
	if code, _ := mt.Do(t, h, u[1], "POST", "/v1/messages/"+id+"/revoke", "", &r); code != 200 ||
		r.Message.Status != events.StatusRevoked || r.Message.Text != "" {
		t.Fatalf("revoke: %d %+v", code, r.Message)
	}
	hist, _, err := messaging.History(context.Background(), pool, conv, messaging.Page{Limit: 10})
	if err != nil || len(hist) != 1 || hist[0].Text != "" || hist[0].Status != events.StatusRevoked {
		t.Fatalf("stored: %+v %v", hist, err)
	}
}

// TestRevokeUnpinsAndClearsSearchText: revoking a pinned message removes the pin and writes its
// im.conversation.pinned (pinned false) fact in the revoke's transaction; search_text goes too.
func TestRevokeUnpinsAndClearsSearchText(t *testing.T) {
	pool, pub, h := setup(t)
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	pinned := message(t, pool, conv, u[1], 0)
	plain := message(t, pool, conv, u[1], 0)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `UPDATE messages SET search_text = 'secret' WHERE conversation_id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO pins (conversation_id, message_id, pinned_by, pinned_at) VALUES ($1, $2, $3, now())`,
		conv, pinned, u[0]); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{pinned, plain} {
		if code, _ := mt.Do(t, h, u[0], "POST", "/v1/messages/"+id+"/revoke", "", nil); code != 200 {
			t.Fatalf("revoke: %d", code)
		}
	}
	facts := mt.OutboxRows(t, pool, events.TypeConversationPinned)
	if len(facts) != 1 || len(pub.Published(events.TypeConversationPinned)) != 1 {
		t.Fatalf("%d pinned facts, want 1 (only the pinned message)", len(facts))
	}
	f, err := events.Decode[events.ConversationPinned](facts[0])
	if err != nil || f.MessageID != pinned || f.Pinned || f.UserID != u[0] || f.ConversationID != conv {
		t.Fatalf("fact %+v %v", f, err)
	}
	var pins, searchable int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM pins), (SELECT count(*) FROM messages WHERE search_text IS NOT NULL)`).
		Scan(&pins, &searchable); err != nil || pins != 0 || searchable != 0 {
		t.Fatalf("pins %d, searchable %d, %v", pins, searchable, err)
	}
}
