package conversations_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/conversations"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/read"
	"github.com/parley-im/parley/functions/revoke"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/functions/sweep"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// env serves all messaging routes on one mux, as the gateway would.
type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	pub  *mt.Publisher
	mux  *http.ServeMux
}

func newEnv(t *testing.T, sendCfg send.Config) *env {
	pool, _ := pgtest.New(t)
	ob, pub := mt.Outbox(pool)
	log := mt.Log()
	mux := http.NewServeMux()
	conversations.New(conversations.Config{}, conversations.Deps{Pool: pool, Outbox: ob, Log: log}).Routes(mux)
	send.New(sendCfg, send.Deps{Pool: pool, Relay: mt.Relay(t, ob), Log: log}).Routes(mux)
	read.New(read.Deps{Pool: pool, Outbox: ob, Log: log}).Routes(mux)
	revoke.New(revoke.Config{}, revoke.Deps{Pool: pool, Outbox: ob, Log: log}).Routes(mux)
	return &env{t: t, pool: pool, pub: pub, mux: mux}
}

func (e *env) do(user, method, path, body string, out any) int {
	e.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	req = req.WithContext(mt.As(req.Context(), user))
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return rec.Code
}

func (e *env) send(user, conv, cid, text string) (int, events.Message) {
	var r events.MessageResponse
	code := e.do(user, "POST", "/v1/conversations/"+conv+"/messages", fmt.Sprintf(`{"client_msg_id":%q,"type":"text","text":%q}`, cid, text), &r)
	return code, r.Message
}

func TestGroupLifecycleAndMembership(t *testing.T) {
	e := newEnv(t, send.Config{})
	u := mt.Users(t, e.pool, 4)
	owner, alice, bob, stranger := u[0], u[1], u[2], u[3]

	var cr events.ConversationResponse
	if code := e.do(owner, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"group","title":"team","member_ids":[%q,%q,%q]}`, alice, bob, alice), &cr); code != 201 {
		t.Fatalf("create group: %d", code)
	}
	conv := cr.Conversation
	if conv.MembersCount != 3 || conv.Role != "owner" || conv.OwnerID != owner || conv.Title != "team" {
		t.Fatalf("group: %+v", conv)
	}
	for i := range 3 {
		if code, m := e.send(alice, conv.ID, fmt.Sprint("a", i), "hello"); code != 201 || m.Seq != int64(i+1) {
			t.Fatalf("send %d: %d %+v", i, code, m)
		}
	}
	// Conversation list: unread, last message, read position.
	var list events.ConversationsResponse
	e.do(bob, "GET", "/v1/conversations", "", &list)
	if len(list.Conversations) != 1 || list.Conversations[0].UnreadCount != 3 || list.Conversations[0].LastMessage == nil ||
		list.Conversations[0].LastMessage.Seq != 3 || list.Conversations[0].Role != "member" {
		t.Fatalf("bob's list: %+v", list)
	}
	e.do(alice, "GET", "/v1/conversations", "", &list)
	if list.Conversations[0].UnreadCount != 0 || list.Conversations[0].ReadSeq != 3 {
		t.Fatalf("the sender has read its own messages: %+v", list.Conversations[0])
	}
	// Read: forward only, clamped to last_seq.
	var rr events.ReadResponse
	if code := e.do(bob, "POST", "/v1/conversations/"+conv.ID+"/read", `{"seq":2}`, &rr); code != 200 || rr.ReadSeq != 2 {
		t.Fatalf("read 2: %d %+v", code, rr)
	}
	e.do(bob, "POST", "/v1/conversations/"+conv.ID+"/read", `{"seq":1}`, &rr)
	if rr.ReadSeq != 2 {
		t.Fatalf("read moved backwards: %d", rr.ReadSeq)
	}
	e.do(bob, "POST", "/v1/conversations/"+conv.ID+"/read", `{"seq":99}`, &rr)
	if rr.ReadSeq != 3 {
		t.Fatalf("read past last_seq: %d", rr.ReadSeq)
	}
	if n := len(mt.OutboxRows(t, e.pool, events.TypeConversationRead)); n != 2 {
		t.Fatalf("%d read facts; want 2 (the backward read moves nothing)", n)
	}
	var detail events.ConversationDetail
	e.do(owner, "GET", "/v1/conversations/"+conv.ID, "", &detail)
	receipts := map[string]int64{}
	for _, m := range detail.Members {
		receipts[m.UserID] = m.ReadSeq
	}
	if len(detail.Members) != 3 || receipts[bob] != 3 || receipts[alice] != 3 || receipts[owner] != 0 {
		t.Fatalf("receipts: %+v", detail.Members)
	}
	// History paging.
	var page events.MessagesResponse
	e.do(bob, "GET", "/v1/conversations/"+conv.ID+"/messages?after_seq=1&limit=1", "", &page)
	if len(page.Messages) != 1 || page.Messages[0].Seq != 2 || !page.HasMore {
		t.Fatalf("page: %+v", page)
	}
	e.do(bob, "GET", "/v1/conversations/"+conv.ID+"/messages", "", &page)
	if len(page.Messages) != 3 || page.Messages[0].Seq != 1 || page.HasMore {
		t.Fatalf("latest page: %+v", page)
	}

	// Strangers: the same 404 as a missing conversation, on every operation.
	_, m1 := e.send(alice, conv.ID, "a-x", "x")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/conversations/" + conv.ID, ""},
		{"GET", "/v1/conversations/" + conv.ID + "/messages", ""},
		{"POST", "/v1/conversations/" + conv.ID + "/messages", `{"client_msg_id":"s","type":"text","text":"x"}`},
		{"POST", "/v1/conversations/" + conv.ID + "/read", `{"seq":1}`},
		{"POST", "/v1/messages/" + m1.ID + "/revoke", ""},
		{"PATCH", "/v1/conversations/" + conv.ID, `{"title":"x"}`},
		{"GET", "/v1/conversations/nope/messages", ""},
	} {
		if code := e.do(stranger, c.method, c.path, c.body, nil); code != 404 {
			t.Fatalf("stranger %s %s: %d", c.method, c.path, code)
		}
	}

	// Management: a member cannot rename; the owner can; the owner cannot leave.
	if code := e.do(bob, "PATCH", "/v1/conversations/"+conv.ID, `{"title":"x"}`, nil); code != 403 {
		t.Fatalf("member rename: %d", code)
	}
	if code := e.do(owner, "PATCH", "/v1/conversations/"+conv.ID, `{"title":"renamed"}`, &cr); code != 200 || cr.Conversation.Title != "renamed" {
		t.Fatalf("owner rename: %d", code)
	}
	if code := e.do(owner, "DELETE", "/v1/conversations/"+conv.ID+"/members/"+owner, "", nil); code != 409 {
		t.Fatalf("owner leaves: %d", code)
	}
	if code := e.do(owner, "PATCH", "/v1/conversations/"+conv.ID+"/members/"+alice, `{"role":"admin"}`, nil); code != 200 {
		t.Fatalf("promote: %d", code)
	}
	if code := e.do(alice, "DELETE", "/v1/conversations/"+conv.ID+"/members/"+bob, "", nil); code != 204 {
		t.Fatalf("admin removes member: %d", code)
	}
	// The removed member reads nothing sent after (nor anything: 404), and cannot send.
	e.send(alice, conv.ID, "after-removal", "secret")
	if code := e.do(bob, "GET", "/v1/conversations/"+conv.ID+"/messages?after_seq=0", "", nil); code != 404 {
		t.Fatalf("removed member history: %d", code)
	}
	if code, _ := e.send(bob, conv.ID, "b1", "x"); code != 404 {
		t.Fatalf("removed member send: %d", code)
	}
	if code := e.do(owner, "POST", "/v1/conversations/"+conv.ID+"/members", fmt.Sprintf(`{"user_ids":[%q]}`, stranger), &cr); code != 200 || cr.Conversation.MembersCount != 3 {
		t.Fatalf("add member: %d %+v", code, cr.Conversation)
	}
	e.do(stranger, "GET", "/v1/conversations/"+conv.ID, "", &detail)
	if detail.Conversation.UnreadCount != 0 {
		t.Fatalf("a new member starts with nothing unread: %+v", detail.Conversation)
	}
	// Handing over ownership lets the old owner leave.
	if code := e.do(owner, "PATCH", "/v1/conversations/"+conv.ID+"/members/"+alice, `{"role":"owner"}`, nil); code != 200 {
		t.Fatalf("hand over: %d", code)
	}
	if code := e.do(owner, "DELETE", "/v1/conversations/"+conv.ID+"/members/"+owner, "", nil); code != 204 {
		t.Fatalf("old owner leaves: %d", code)
	}
	for _, typ := range []string{events.TypeConversationCreated, events.TypeConversationUpdated, events.TypeMemberAdded, events.TypeMemberRemoved} {
		if len(mt.OutboxRows(t, e.pool, typ)) == 0 {
			t.Fatalf("no %s fact", typ)
		}
	}
}

func TestRevokeRules(t *testing.T) {
	e := newEnv(t, send.Config{})
	u := mt.Users(t, e.pool, 3)
	owner, alice, bob := u[0], u[1], u[2]
	var cr events.ConversationResponse
	e.do(owner, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"group","title":"t","member_ids":[%q,%q]}`, alice, bob), &cr)
	conv := cr.Conversation.ID
	_, m1 := e.send(alice, conv, "m1", "first secret")
	_, m2 := e.send(alice, conv, "m2", "second secret")
	_, m3 := e.send(alice, conv, "m3", "third secret")

	var r events.MessageResponse
	if code := e.do(bob, "POST", "/v1/messages/"+m1.ID+"/revoke", "", nil); code != 403 {
		t.Fatalf("another member revokes: %d", code)
	}
	if code := e.do(alice, "POST", "/v1/messages/"+m1.ID+"/revoke", "", &r); code != 200 || r.Message.Status != "revoked" || r.Message.Text != "" {
		t.Fatalf("sender revokes in window: %d %+v", code, r.Message)
	}
	if code := e.do(alice, "POST", "/v1/messages/"+m1.ID+"/revoke", "", &r); code != 200 || r.Message.Status != "revoked" {
		t.Fatalf("second revoke: %d", code)
	}
	if n := len(mt.OutboxRows(t, e.pool, events.TypeMessageRevoked)); n != 1 {
		t.Fatalf("%d revoke facts; want 1", n)
	}
	// Out of the window: the sender cannot, the owner can.
	if _, err := e.pool.Exec(context.Background(), `UPDATE messages SET created_at = now() - interval '3 minutes' WHERE id = ANY($1)`,
		[]string{m2.ID, m3.ID}); err != nil {
		t.Fatal(err)
	}
	if code := e.do(alice, "POST", "/v1/messages/"+m2.ID+"/revoke", "", nil); code != 409 {
		t.Fatalf("sender after window: %d", code)
	}
	if code := e.do(owner, "POST", "/v1/messages/"+m2.ID+"/revoke", "", &r); code != 200 || r.Message.Status != "revoked" {
		t.Fatalf("owner after window: %d", code)
	}
	// The content is gone from storage and history.
	var page events.MessagesResponse
	e.do(bob, "GET", "/v1/conversations/"+conv+"/messages", "", &page)
	for _, m := range page.Messages {
		if (m.ID == m1.ID || m.ID == m2.ID) && (m.Text != "" || m.Payload != nil || m.File != nil || m.Status != "revoked") {
			t.Fatalf("revoked content visible: %+v", m)
		}
	}
	var leaked int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE text LIKE '%secret%' AND status = 'revoked'`).Scan(&leaked)
	if leaked != 0 {
		t.Fatal("revoked text still stored")
	}
}

func TestDirectNeedsContactAndNoBlock(t *testing.T) {
	e := newEnv(t, send.Config{})
	u := mt.Users(t, e.pool, 3)
	a, b, c := u[0], u[1], u[2]
	if code := e.do(a, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"direct","peer_id":%q}`, b), nil); code != 403 {
		t.Fatalf("not contacts: %d", code)
	}
	mt.Contacts(t, e.pool, a, b)
	var first, again events.ConversationResponse
	if code := e.do(a, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"direct","peer_id":%q}`, b), &first); code != 201 {
		t.Fatalf("create direct: %d", code)
	}
	if code := e.do(b, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"direct","peer_id":%q}`, a), &again); code != 200 || again.Conversation.ID != first.Conversation.ID {
		t.Fatalf("direct again: %d", code)
	}
	if code, _ := e.send(a, first.Conversation.ID, "d1", "hi"); code != 201 {
		t.Fatalf("direct send: %d", code)
	}
	// b blocks a: a can neither message nor open a direct conversation with b; nor can b.
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)`, b, a); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.send(a, first.Conversation.ID, "d2", "hi"); code != 403 {
		t.Fatalf("blocked send: %d", code)
	}
	if code := e.do(a, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"direct","peer_id":%q}`, b), nil); code != 403 {
		t.Fatalf("blocked open: %d", code)
	}
	mt.Contacts(t, e.pool, c, b)
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)`, b, c); err != nil {
		t.Fatal(err)
	}
	if code := e.do(c, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"direct","peer_id":%q}`, b), nil); code != 403 {
		t.Fatalf("blocked before first open: %d", code)
	}
	if code := e.do(a, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"direct","peer_id":%q}`, a), nil); code != 400 {
		t.Fatalf("self: %d", code)
	}
}

// The fault hook stops send between commit and publish; the sweep publishes the fact exactly once.
func TestFaultSweepPublishesOnce(t *testing.T) {
	e := newEnv(t, send.Config{FaultSkipPublish: true})
	u := mt.Users(t, e.pool, 2)
	conv := mt.Group(t, e.pool, u...)
	code, m := e.send(u[0], conv, "f1", "x")
	if code != 201 || len(e.pub.Published(events.TypeMessageCreated)) != 0 {
		t.Fatalf("send: %d, published %d", code, len(e.pub.Published()))
	}
	ob, pub := mt.Outbox(e.pool)
	sw := sweep.New(sweep.Config{OlderThan: time.Millisecond}, sweep.Deps{Pool: e.pool, Outbox: ob, Log: mt.Log()})
	hh, err := sw.Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	for range 3 { // three pings
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "ping", "ce-source": "/ping", "ce-type": "dev.knative.sources.ping", "Content-Type": "application/json"} {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		hh.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			t.Fatalf("sweep: %d", rec.Code)
		}
	}
	got := pub.Published(events.TypeMessageCreated)
	if len(got) != 1 {
		t.Fatalf("sweep published %d facts; want exactly 1", len(got))
	}
	f, _ := events.Decode[events.MessageFact](got[0])
	if f.Message.ID != m.ID || f.Message.Seq != 1 {
		t.Fatalf("swept fact: %+v", f.Message)
	}
}

// The conversation list is one query; its plan at 1,000 conversations is logged (go test -v).
func TestListPlanAt1000Conversations(t *testing.T) {
	e := newEnv(t, send.Config{})
	u := mt.Users(t, e.pool, 50)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `
		INSERT INTO conversations (id, type, title, owner_id, members_count, last_seq)
		SELECT 'c' || g, 'group', 't', $1, 2, 20 FROM generate_series(1, 20000) g`, u[0]); err != nil {
		t.Fatal(err)
	}
	// u[0] is in 1,000 conversations; the others spread over the rest.
	for _, q := range []string{
		`INSERT INTO conversation_members (conversation_id, user_id, role)
		SELECT 'c' || g, CASE WHEN g <= 1000 THEN $1 ELSE ($2::text[])[1 + g % 49] END, 'owner' FROM generate_series(1, 20000) g`,
		`INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, created_at)
		SELECT 'm' || g || '.' || s, 'c' || g, s, $1, 'x' || g || '.' || s, 'text', 'hi', now()
		FROM generate_series(1, 20000) g, generate_series(1, 20) s
		WHERE $2::text[] IS NOT NULL`,
	} {
		if _, err := e.pool.Exec(ctx, q, u[0], u[1:]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	var list events.ConversationsResponse
	if code := e.do(u[0], "GET", "/v1/conversations", "", &list); code != 200 || len(list.Conversations) != 1000 ||
		list.Conversations[0].LastMessage == nil {
		t.Fatalf("list: %d %d", code, len(list.Conversations))
	}
	rows, err := e.pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "+conversations.ListSQL, u[0])
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		_ = rows.Scan(&line)
		plan = append(plan, line)
	}
	t.Log("\n" + strings.Join(plan, "\n"))
	if joined := strings.Join(plan, "\n"); strings.Contains(joined, "Seq Scan on messages") {
		t.Errorf("the list scans all messages:\n%s", joined)
	}
}
