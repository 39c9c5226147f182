package read_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/read"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

func setup(t *testing.T) (*pgxpool.Pool, *mt.Publisher, http.Handler) {
	pool, _ := pgtest.New(t)
	ob, pub := mt.Outbox(pool)
	h, err := read.New(read.Deps{Pool: pool, Outbox: ob, Log: mt.Log()}).Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	return pool, pub, h
}

func command(t *testing.T, id string, cmd events.ReadCommand) event.Event {
	t.Helper()
	e, err := events.New(id, "/edge/test", events.TypeMessageRead, cmd.ConversationID, cmd)
	if err != nil {
		t.Fatal(err)
	}
	e.SetExtension(events.ExtCorrelationID, "edge-1/s-1/"+id)
	return e
}

func TestReadCommandPaths(t *testing.T) {
	pool, pub, h := setup(t)
	u := mt.Users(t, pool, 3)
	conv := mt.Group(t, pool, u[0], u[1])
	if _, err := pool.Exec(context.Background(), `UPDATE conversations SET last_seq = 5 WHERE id = $1`, conv); err != nil {
		t.Fatal(err)
	}

	// Success: the position moves (clamped to last_seq), the fact carries the correlation id, no reply.
	code, reply := mt.PostEvent(t, h, command(t, "c1", events.ReadCommand{UserID: u[1], ConversationID: conv, Seq: 9}))
	if code != 200 || reply != nil {
		t.Fatalf("read: %d %v", code, reply)
	}
	facts := mt.OutboxRows(t, pool, events.TypeConversationRead)
	if len(facts) != 1 {
		t.Fatalf("%d read facts", len(facts))
	}
	f, err := events.Decode[events.ConversationRead](facts[0])
	if err != nil || f.UserID != u[1] || f.Seq != 5 || f.ConversationID != conv {
		t.Fatalf("fact %+v %v", f, err)
	}
	if c := events.StringExtension(facts[0], events.ExtCorrelationID); c != "edge-1/s-1/c1" {
		t.Fatalf("fact correlationid %q", c)
	}
	if len(pub.Published(events.TypeConversationRead)) != 1 {
		t.Fatal("fact not published")
	}
	// Redelivery and a backwards read change nothing and write no fact.
	for _, seq := range []int64{9, 2} {
		if code, reply := mt.PostEvent(t, h, command(t, "c2", events.ReadCommand{UserID: u[1], ConversationID: conv, Seq: seq})); code != 200 || reply != nil {
			t.Fatalf("read %d again: %d %v", seq, code, reply)
		}
	}
	if n := len(mt.OutboxRows(t, pool, events.TypeConversationRead)); n != 1 {
		t.Fatalf("%d read facts after no-op reads", n)
	}

	// Refusal: a stranger gets an im.command.rejected reply for the frame, with the correlation id.
	code, reply = mt.PostEvent(t, h, command(t, "c3", events.ReadCommand{UserID: u[2], ConversationID: conv, Seq: 1}))
	if code != 200 || reply == nil || reply.Type() != events.TypeCommandRejected {
		t.Fatalf("stranger: %d %v", code, reply)
	}
	rj, err := events.Decode[events.CommandRejected](*reply)
	if err != nil || rj.Code != events.CodeNotFound || rj.UserID != u[2] || rj.CorrelationID != "edge-1/s-1/c3" {
		t.Fatalf("rejection %+v %v", rj, err)
	}
	if events.StringExtension(*reply, events.ExtCorrelationID) != "edge-1/s-1/c3" || events.PartitionKey(*reply) != u[2] {
		t.Fatal("rejection lacks the correlation id or the user key")
	}

	// Poison: data nobody can be answered about (not JSON, no user), or a type read does not handle
	// -> 400, dead-lettered at once.
	e := command(t, "c4", events.ReadCommand{UserID: u[1], ConversationID: conv, Seq: 1})
	for name, body := range map[string]string{"not json": `{`, "wrong shape": `{"user_id":7}`, "missing user": `{"conversation_id":"x","seq":1}`} {
		if code, reply := mt.PostBinary(t, h, e, []byte(body)); code != 400 || reply != nil {
			t.Errorf("%s: %d %v; want 400", name, code, reply)
		}
	}
	// An invalid command from a known user is answered (the frame gets an error), not dead-lettered.
	code, reply = mt.PostBinary(t, h, e, []byte(`{"user_id":"`+u[1]+`","conversation_id":"`+conv+`","seq":-1}`))
	if code != 200 || reply == nil || reply.Type() != events.TypeCommandRejected {
		t.Fatalf("negative seq: %d %v", code, reply)
	}
	if rj, _ := events.Decode[events.CommandRejected](*reply); rj.Code != events.CodeInvalidArgument {
		t.Fatalf("negative seq rejection %+v", rj)
	}
	other := e.Clone()
	other.SetType(events.TypeMessageRevoke)
	if code, _ := mt.PostEvent(t, h, other); code != 400 {
		t.Errorf("foreign type: %d", code)
	}
}

func TestReadHTTP(t *testing.T) {
	pool, _, h := setup(t)
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	if _, err := pool.Exec(context.Background(), `UPDATE conversations SET last_seq = 3 WHERE id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	var r events.ReadResponse
	if code, _ := mt.Do(t, h, u[1], "POST", "/v1/conversations/"+conv+"/read", `{"seq":2}`, &r); code != 200 || r.ReadSeq != 2 {
		t.Fatalf("read: %d %+v", code, r)
	}
	if code, _ := mt.Do(t, h, u[1], "POST", "/v1/conversations/"+conv+"/read", `{"seq":1}`, &r); code != 200 || r.ReadSeq != 2 {
		t.Fatalf("backwards read: %d %+v", code, r)
	}
	facts := mt.OutboxRows(t, pool, events.TypeConversationRead)
	if len(facts) != 1 || events.StringExtension(facts[0], events.ExtCorrelationID) != "" {
		t.Fatalf("http facts: %d", len(facts))
	}
}
