package send_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

func newSend(t testing.TB, cfg send.Config) (*send.Handler, relayed, http.Handler) {
	pool, _ := pgtest.New(t)
	ob, pub := mt.Outbox(pool)
	if cfg.MaxUndelivered == 0 {
		cfg.MaxUndelivered = 1 << 30 // no fanout here advances the delivery cursor
	}
	relay := mt.Relay(t, ob)
	h := send.New(cfg, send.Deps{Pool: pool, Relay: relay, Log: mt.Log()})
	hh, err := h.Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	return h, relayed{pub, relay, t}, hh
}

// relayed reads what was published once the relay has published everything handed to it (sends
// are answered at commit; their facts follow).
type relayed struct {
	pub   *mt.Publisher
	relay *postgres.Relay
	tb    testing.TB
}

func (r relayed) Published(types ...string) []cloudevents.Event {
	mt.Published(r.tb, r.relay)
	return r.pub.Published(types...)
}

func (r relayed) PublishCalls() int {
	mt.Published(r.tb, r.relay)
	return r.pub.PublishCalls()
}

func TestConcurrentSendersGetGaplessSeqs(t *testing.T) {
	h, _, _ := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 7)
	conv := mt.Group(t, pool, users...)
	// 8 senders: two devices of users[0] and one each for the six others.
	senders := append([]string{users[0]}, users...)
	const per = 200
	var wg sync.WaitGroup
	errs := make(chan error, len(senders))
	for d, u := range senders {
		wg.Go(func() {
			for i := range per {
				_, _, err := h.Send(context.Background(), events.SendCommand{UserID: u, ConversationID: conv,
					SendMessage: events.SendMessage{ClientMsgID: fmt.Sprintf("dev%d-%d", d, i), Type: "text", Text: "hi"}})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n, minSeq, maxSeq, distinct, lastSeq int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*), min(seq), max(seq), count(DISTINCT seq),
		(SELECT last_seq FROM conversations WHERE id = $1) FROM messages WHERE conversation_id = $1`, conv).
		Scan(&n, &minSeq, &maxSeq, &distinct, &lastSeq); err != nil {
		t.Fatal(err)
	}
	if n != 1600 || minSeq != 1 || maxSeq != 1600 || distinct != 1600 || lastSeq != 1600 {
		t.Fatalf("count %d min %d max %d distinct %d last_seq %d; want 1600 1 1600 1600 1600", n, minSeq, maxSeq, distinct, lastSeq)
	}
	var dup int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM (SELECT sender_id, client_msg_id FROM messages
		GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dup); err != nil || dup != 0 {
		t.Fatalf("duplicated client_msg_ids: %d %v", dup, err)
	}
	// Messages by one sender were stored in the order that sender sent them.
	rows, _ := pool.Query(context.Background(), `SELECT client_msg_id FROM messages WHERE sender_id = $1 ORDER BY seq`, users[3])
	var prev = -1
	for rows.Next() {
		var c string
		_ = rows.Scan(&c)
		var d, i int
		fmt.Sscanf(c, "dev%d-%d", &d, &i)
		if i <= prev {
			t.Fatalf("sender order broken at %s", c)
		}
		prev = i
	}
	if len(mt.OutboxRows(t, pool, events.TypeMessageCreated)) != 1600 {
		t.Fatal("want one im.message.created row per message")
	}
}

func TestRetryReturnsOriginal(t *testing.T) {
	h, pub, hh := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, users...)
	post := func(body string) (int, events.Message) {
		req := httptest.NewRequest("POST", "/v1/conversations/"+conv+"/messages", bytes.NewBufferString(body))
		req = req.WithContext(mt.As(req.Context(), users[1]))
		rec := httptest.NewRecorder()
		hh.ServeHTTP(rec, req)
		var r events.MessageResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &r)
		return rec.Code, r.Message
	}
	code, first := post(`{"client_msg_id":"c1","type":"text","text":"hello"}`)
	if code != 201 || first.Seq != 1 || first.Text != "hello" {
		t.Fatalf("first: %d %+v", code, first)
	}
	code, again := post(`{"client_msg_id":"c1","type":"text","text":"other content"}`)
	if code != 200 || again.ID != first.ID || again.Text != "hello" || again.Seq != 1 {
		t.Fatalf("retry: %d %+v", code, again)
	}
	code, second := post(`{"client_msg_id":"c2","type":"custom","payload":{"b":1,"a":[1, 2]}}`)
	if code != 201 || second.Seq != 2 || string(second.Payload) != `{"b":1,"a":[1,2]}` {
		t.Fatalf("second: %d %+v %s", code, second, second.Payload)
	}
	if got := len(pub.Published(events.TypeMessageCreated)); got != 2 {
		t.Fatalf("published %d facts; want 2", got)
	}
	var unpublished int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&unpublished)
	if unpublished != 0 {
		t.Fatalf("%d outbox rows left unpublished", unpublished)
	}
	// Validation.
	long := make([]byte, 4001)
	for i := range long {
		long[i] = 'x'
	}
	if code, _ := post(fmt.Sprintf(`{"client_msg_id":"c3","type":"text","text":"%s"}`, long)); code != 400 {
		t.Fatalf("4001 chars: %d", code)
	}
	if code, _ := post(`{"client_msg_id":"c4","type":"image","file_id":"nope"}`); code != 400 {
		t.Fatalf("unknown file: %d", code)
	}
	if code, _ := post(`{"client_msg_id":"c5","type":"system","text":"x"}`); code != 400 {
		t.Fatalf("system type: %d", code)
	}
}

func TestMediaNeedsReadyOwnFile(t *testing.T) {
	h, _, _ := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, users...)
	ctx := context.Background()
	file := func(owner, status string) string {
		id := messaging.NewID()
		if _, err := pool.Exec(ctx, `INSERT INTO files (id, owner_id, filename, content_type, size, status, object_key)
			VALUES ($1, $2, 'a.png', 'image/png', 10, $3, $1)`, id, owner, status); err != nil {
			t.Fatal(err)
		}
		return id
	}
	sendImg := func(cid, fid string) (events.Message, error) {
		m, _, err := h.Send(ctx, events.SendCommand{UserID: users[0], ConversationID: conv,
			SendMessage: events.SendMessage{ClientMsgID: cid, Type: "image", FileID: fid}})
		return m, err
	}
	if _, err := sendImg("a", file(users[0], "pending")); events.AsError(err).Code != events.CodeFileNotReady {
		t.Fatalf("pending file: %v", err)
	}
	if _, err := sendImg("b", file(users[1], "ready")); events.AsError(err).Code != events.CodeInvalidArgument {
		t.Fatalf("someone else's file: %v", err)
	}
	m, err := sendImg("c", file(users[0], "ready"))
	if err != nil || m.File == nil || m.File.Filename != "a.png" {
		t.Fatalf("ready file: %+v %v", m, err)
	}
	hist, _, _ := messaging.History(ctx, pool, conv, messaging.Page{Limit: 10})
	if len(hist) != 1 || hist[0].File == nil || hist[0].File.ID != m.File.ID {
		t.Fatalf("history: %+v", hist)
	}
}

// The HTTP route and the broker command end in the same stored message and the same fact.
func TestHTTPAndBrokerPathsAgree(t *testing.T) {
	h, pub, hh := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 2)
	convA := mt.Group(t, pool, users...)
	convB := mt.Group(t, pool, users...)
	body := `{"client_msg_id":"%s","type":"custom","text":"t","payload":{"k":"v"}}`

	req := httptest.NewRequest("POST", "/v1/conversations/"+convA+"/messages", bytes.NewBufferString(fmt.Sprintf(body, "http-1")))
	req = req.WithContext(mt.As(req.Context(), users[0]))
	rec := httptest.NewRecorder()
	hh.ServeHTTP(rec, req)
	if rec.Code != 201 {
		t.Fatalf("http: %d %s", rec.Code, rec.Body)
	}

	var sm events.SendMessage
	_ = json.Unmarshal(fmt.Appendf(nil, body, "ce-1"), &sm)
	cmd, _ := events.New("cmd-1", "/edge/test", events.TypeMessageSend, convB,
		events.SendCommand{UserID: users[0], ConversationID: convB, SendMessage: sm})
	cmd.SetExtension(events.ExtCorrelationID, "edge-1/s-1/f-7")
	code, reply := postEvent(t, hh, cmd)
	if code != 200 || reply != nil {
		t.Fatalf("broker: %d reply %v", code, reply)
	}
	// A redelivery, or a client's retry with the same client_msg_id, stores nothing new; its answer is
	// the original's fact under the retry's correlation id (the socket waiting for it hears back).
	code, again := postEvent(t, hh, cmd)
	if code != 200 || again == nil || again.Type() != events.TypeMessageCreated ||
		events.StringExtension(*again, events.ExtCorrelationID) != "edge-1/s-1/f-7" {
		t.Fatalf("redelivery: %d reply %v", code, again)
	}
	var ans events.MessageFact
	if err := json.Unmarshal(again.Data(), &ans); err != nil || ans.Message.Seq != 1 || ans.Message.ConversationID != convB {
		t.Fatalf("redelivery answer %s: %v", again.Data(), err)
	}
	if _, twice := postEvent(t, hh, cmd); twice == nil || twice.ID() != again.ID() {
		t.Fatalf("a second redelivery must answer with the same event id")
	}

	load := func(conv string) events.Message {
		msgs, _, err := messaging.History(context.Background(), pool, conv, messaging.Page{Limit: 10})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("history %s: %v %d", conv, err, len(msgs))
		}
		return msgs[0]
	}
	a, b := load(convA), load(convB)
	if a.Seq != b.Seq || a.Type != b.Type || a.Text != b.Text || string(a.Payload) != string(b.Payload) ||
		a.SenderID != b.SenderID || a.Status != b.Status {
		t.Fatalf("stored messages differ:\n%+v\n%+v", a, b)
	}
	facts := mt.OutboxRows(t, pool, events.TypeMessageCreated)
	if len(facts) != 2 {
		t.Fatalf("%d outbox facts; want 2", len(facts))
	}
	var fa, fb events.MessageFact
	_ = json.Unmarshal(facts[0].Data(), &fa)
	_ = json.Unmarshal(facts[1].Data(), &fb)
	if fa.Message.ID != a.ID || fb.Message.ID != b.ID || fa.Message.Seq != 1 || fb.Message.Seq != 1 {
		t.Fatalf("facts do not describe the stored messages: %+v %+v", fa, fb)
	}
	if facts[0].Source() != facts[1].Source() || facts[0].Subject() != convA || facts[1].Subject() != convB {
		t.Fatal("facts differ in source or subject")
	}
	if c := events.StringExtension(facts[1], events.ExtCorrelationID); c != "edge-1/s-1/f-7" {
		t.Fatalf("broker fact correlationid %q", c)
	}
	if c := events.StringExtension(facts[0], events.ExtCorrelationID); c != "" {
		t.Fatalf("http fact correlationid %q", c)
	}
	// What was published is what the outbox stored.
	pubs := pub.Published(events.TypeMessageCreated)
	if len(pubs) != 2 || !jsonEqual(pubs[1].Data(), facts[1].Data()) {
		t.Fatalf("published fact differs from the stored one")
	}
}

func TestBrokerRefusalIsRejectionReply(t *testing.T) {
	h, _, hh := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 3)
	conv := mt.Group(t, pool, users[:2]...)
	cmd, _ := events.New("cmd-2", "/edge/test", events.TypeMessageSend, conv, events.SendCommand{UserID: users[2], ConversationID: conv,
		SendMessage: events.SendMessage{ClientMsgID: "x", Type: "text", Text: "hi"}})
	cmd.SetExtension(events.ExtCorrelationID, "corr-9")
	code, reply := postEvent(t, hh, cmd)
	if code != 200 || reply == nil || reply.Type() != events.TypeCommandRejected {
		t.Fatalf("want a rejection reply, got %d %v", code, reply)
	}
	rj, err := events.Decode[events.CommandRejected](*reply)
	if err != nil || rj.Code != events.CodeNotFound || rj.CorrelationID != "corr-9" || rj.UserID != users[2] {
		t.Fatalf("rejection %+v %v", rj, err)
	}
	if events.StringExtension(*reply, events.ExtCorrelationID) != "corr-9" {
		t.Fatal("rejection lacks the correlationid extension")
	}
}

// A command that reaches send after its deadline is dropped (acknowledged, no reply: its sender was
// answered "unavailable" at the deadline) and stores nothing; one within its deadline is stored.
func TestExpiredCommandIsDroppedNotStored(t *testing.T) {
	h, pub, hh := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, users...)
	command := func(id, cmid string, deadline time.Time) cloudevents.Event {
		cmd, _ := events.New(id, "/edge/test", events.TypeMessageSend, conv, events.SendCommand{UserID: users[0], ConversationID: conv,
			SendMessage: events.SendMessage{ClientMsgID: cmid, Type: "text", Text: "hi"}})
		cmd.SetExtension(events.ExtCorrelationID, "corr-"+cmid)
		events.SetDeadline(&cmd, deadline)
		return cmd
	}
	code, reply := postEvent(t, hh, command("cmd-late", "late", time.Now().Add(-time.Millisecond)))
	if code/100 != 2 || reply != nil {
		t.Fatalf("want the expired command acknowledged without reply, got %d %v", code, reply)
	}
	code, reply = postEvent(t, hh, command("cmd-ok", "ok", time.Now().Add(time.Minute)))
	if code != 200 || reply != nil {
		t.Fatalf("in-time command: %d %v", code, reply)
	}
	var stored []string
	rows, _ := pool.Query(context.Background(), `SELECT client_msg_id FROM messages WHERE conversation_id = $1`, conv)
	for rows.Next() {
		var c string
		_ = rows.Scan(&c)
		stored = append(stored, c)
	}
	if len(stored) != 1 || stored[0] != "ok" || len(pub.Published(events.TypeMessageCreated)) != 1 {
		t.Fatalf("stored %v, published %d facts; want only the in-time message", stored, len(pub.Published(events.TypeMessageCreated)))
	}
}

// A conversation whose deliveries are MaxUndelivered messages behind refuses new sends at once
// (unavailable, Retry-After), on the HTTP path as on the broker path, until fanout catches up.
func TestSendsRefusedWhileDeliveriesAreBehind(t *testing.T) {
	h, _, hh := newSend(t, send.Config{MaxUndelivered: 3})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, users...)
	postTo := func(conv, cmid string) (int, string) {
		req := httptest.NewRequest("POST", "/v1/conversations/"+conv+"/messages",
			strings.NewReader(`{"client_msg_id":"`+cmid+`","type":"text","text":"x"}`))
		req = req.WithContext(mt.As(req.Context(), users[0]))
		rec := httptest.NewRecorder()
		hh.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get("Retry-After")
	}
	post := func(cmid string) (int, string) { return postTo(conv, cmid) }
	for i := range 3 {
		if code, _ := post(fmt.Sprint("m", i)); code != 201 {
			t.Fatalf("send %d: %d", i, code)
		}
	}
	if code, retry := post("m3"); code != 503 || retry != "1" {
		t.Fatalf("fourth undelivered send: %d Retry-After %q, want 503 with Retry-After 1", code, retry)
	}
	cmd, _ := events.New("cmd-behind", "/edge/test", events.TypeMessageSend, conv, events.SendCommand{UserID: users[0],
		ConversationID: conv, SendMessage: events.SendMessage{ClientMsgID: "m3", Type: "text", Text: "x"}})
	cmd.SetExtension(events.ExtCorrelationID, "corr-behind")
	code, reply := postEvent(t, hh, cmd)
	if code != 200 || reply == nil || reply.Type() != events.TypeCommandRejected {
		t.Fatalf("broker path while behind: %d %v, want a rejection reply", code, reply)
	}
	if rj, err := events.Decode[events.CommandRejected](*reply); err != nil || rj.Code != events.CodeUnavailable || rj.CorrelationID != "corr-behind" {
		t.Fatalf("rejection %+v %v", rj, err)
	}
	// Fanout delivered up to seq 1: two undelivered now, one more is taken.
	if _, err := pool.Exec(context.Background(), `INSERT INTO delivery_cursors (conversation_id, delivered_seq) VALUES ($1, 1)`, conv); err != nil {
		t.Fatal(err)
	}
	if code, _ := post("m3"); code != 201 {
		t.Fatalf("send after fanout caught up: %d", code)
	}
	if code, _ := post("m4"); code != 503 {
		t.Fatalf("three undelivered again: %d, want 503", code)
	}
	// A cursor that has not moved for DeliveryStall (default 3s) is not overload but facts lost to
	// fanout: only a new message's fact can repair it, so sends are let in again.
	if _, err := pool.Exec(context.Background(), `UPDATE delivery_cursors SET advanced_at = now() - interval '4 seconds' WHERE conversation_id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	if code, _ := post("m4"); code != 201 {
		t.Fatalf("send while the cursor is stalled: %d, want 201", code)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d messages stored (%v), want 5", n, err)
	}
	// No cursor row at all: the conversation's age stands in for the cursor's.
	conv2 := mt.Group(t, pool, users...)
	for i := range 3 {
		if code, _ := postTo(conv2, fmt.Sprint("n", i)); code != 201 {
			t.Fatalf("send %d: %d", i, code)
		}
	}
	if code, _ := postTo(conv2, "n3"); code != 503 {
		t.Fatalf("new conversation, three undelivered: %d, want 503", code)
	}
	if _, err := pool.Exec(context.Background(), `UPDATE conversations SET created_at = now() - interval '1 minute' WHERE id = $1`, conv2); err != nil {
		t.Fatal(err)
	}
	if code, _ := postTo(conv2, "n3"); code != 201 {
		t.Fatalf("never-delivered conversation older than the stall: %d, want 201", code)
	}
}

func TestFaultHookLeavesFactToSweep(t *testing.T) {
	h, pub, _ := newSend(t, send.Config{FaultSkipPublish: true})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, users...)
	m, _, err := h.Send(context.Background(), events.SendCommand{UserID: users[0], ConversationID: conv,
		SendMessage: events.SendMessage{ClientMsgID: "f", Type: "text", Text: "x"}})
	if err != nil || m.Seq != 1 {
		t.Fatalf("send: %v", err)
	}
	if len(pub.Published()) != 0 {
		t.Fatal("published despite the fault hook")
	}
	if rows := mt.OutboxRows(t, pool, events.TypeMessageCreated); len(rows) != 1 {
		t.Fatalf("%d outbox rows", len(rows))
	}
}

func postEvent(t *testing.T, h http.Handler, e cloudevents.Event) (int, *cloudevents.Event) {
	t.Helper()
	req := httptest.NewRequest("POST", "/", bytes.NewReader(e.Data()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", e.ID())
	req.Header.Set("ce-source", e.Source())
	req.Header.Set("ce-type", e.Type())
	req.Header.Set("ce-subject", e.Subject())
	for k, v := range e.Extensions() {
		req.Header.Set("ce-"+k, fmt.Sprint(v))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("ce-type") == "" {
		return rec.Code, nil
	}
	msg := cehttp.NewMessageFromHttpResponse(rec.Result())
	reply, err := cloudevents.NewEventFromHTTPResponse(rec.Result())
	_ = msg
	if err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return rec.Code, reply
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func poolOf(_ testing.TB, h *send.Handler) *pgxpool.Pool { return send.PoolOf(h) }

// A batch is committed and flushed by one caller (the leader) for many: every flushed fact must
// still be its own message's (id = its outbox row, its own correlation id, its own conversation as
// key), every caller must be answered with its own message, and no fact may be left to the sweep.
func TestBatchedSendsEachPublishTheirOwnFact(t *testing.T) {
	h, pub, _ := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 4)
	convs := []string{mt.Group(t, pool, users...), mt.Group(t, pool, users...), mt.Group(t, pool, users...)}
	const senders, per = 8, 100
	type answer struct {
		corr string
		msg  events.Message
	}
	answers := make(chan answer, senders*per)
	errs := make(chan error, senders)
	var wg sync.WaitGroup
	for d := range senders {
		wg.Go(func() {
			for i := range per {
				cmid := fmt.Sprintf("dev%d-%d", d, i)
				// The broker path's context: the correlation id the facts must carry back.
				ctx := serve.WithCorrelation(context.Background(), "edge-t/conn-"+cmid+"/f")
				msg, created, err := h.Send(ctx, events.SendCommand{UserID: users[d%len(users)],
					ConversationID: convs[(d+i)%len(convs)],
					SendMessage:    events.SendMessage{ClientMsgID: cmid, Type: "text", Text: "text of " + cmid}})
				if err != nil || !created {
					errs <- fmt.Errorf("send %s: created %v, %v", cmid, created, err)
					return
				}
				answers <- answer{corr: "edge-t/conn-" + cmid + "/f", msg: msg}
			}
		})
	}
	wg.Wait()
	close(answers)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Every caller got its own message, as stored.
	stored := map[string]events.Message{} // by id
	rows, err := pool.Query(context.Background(), `SELECT id, conversation_id, seq, client_msg_id, text FROM messages`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m events.Message
		if err := rows.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.ClientMsgID, &m.Text); err != nil {
			t.Fatal(err)
		}
		stored[m.ID] = m
	}
	if len(stored) != senders*per {
		t.Fatalf("stored %d messages, want %d", len(stored), senders*per)
	}
	byCorr := map[string]events.Message{}
	for a := range answers {
		s, ok := stored[a.msg.ID]
		want := strings.TrimSuffix(strings.TrimPrefix(a.corr, "edge-t/conn-"), "/f")
		if !ok || s.ClientMsgID != want || a.msg.ClientMsgID != want || s.Seq != a.msg.Seq ||
			s.ConversationID != a.msg.ConversationID || a.msg.Text != "text of "+want {
			t.Fatalf("answer for %s names %+v (stored: %+v)", want, a.msg, s)
		}
		byCorr[a.corr] = a.msg
	}

	// Every flushed fact is its own message's, published once, and its outbox row is marked.
	facts := pub.Published(events.TypeMessageCreated)
	if len(facts) != senders*per {
		t.Fatalf("flushed %d facts, want %d", len(facts), senders*per)
	}
	if send.LargestBatch(h) < 2 {
		t.Fatal("no group commit held more than one message: the test proves nothing")
	}
	rowIDs := map[string]bool{}
	for _, r := range mt.OutboxRows(t, pool, events.TypeMessageCreated) {
		rowIDs[r.ID()] = true
	}
	seen := map[string]bool{}
	for _, f := range facts {
		if seen[f.ID()] {
			t.Fatalf("fact id %s flushed twice", f.ID())
		}
		seen[f.ID()] = true
		if !rowIDs[f.ID()] {
			t.Fatalf("fact id %s is no outbox row's id", f.ID())
		}
		var data events.MessageFact
		if err := json.Unmarshal(f.Data(), &data); err != nil {
			t.Fatal(err)
		}
		corr := events.StringExtension(f, events.ExtCorrelationID)
		want, ok := byCorr[corr]
		if !ok || want.ID != data.Message.ID || want.Seq != data.Message.Seq {
			t.Fatalf("fact %s with correlation %q carries message %s seq %d; that correlation's answer is %+v",
				f.ID(), corr, data.Message.ID, data.Message.Seq, want)
		}
		if events.PartitionKey(f) != data.Message.ConversationID || f.Subject() != data.Message.ConversationID {
			t.Fatalf("fact %s keyed %q/%q, its message is in %s", f.ID(), events.PartitionKey(f), f.Subject(), data.Message.ConversationID)
		}
	}
	var unpublished int
	pub.PublishCalls() // waits for the relay
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&unpublished); err != nil {
		t.Fatal(err)
	}
	if unpublished != 0 {
		t.Fatalf("%d outbox rows left for the sweep", unpublished)
	}
}

// Sends whose command deadline passes while they wait in the group commit's queue are dropped
// there (serve.ErrExpired: the edge answers their senders "unavailable"), never stored or published,
// while the live sends batched with them are stored and answered with their own messages.
func TestSendsExpiredInTheQueueAreNotStored(t *testing.T) {
	h, pub, _ := newSend(t, send.Config{})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 4)
	conv := mt.Group(t, pool, users...)
	const senders, per = 8, 60
	var mu sync.Mutex
	live, expired := map[string]events.Message{}, map[string]bool{}
	errs := make(chan error, senders)
	var wg sync.WaitGroup
	for d := range senders {
		wg.Go(func() {
			for i := range per {
				cmid := fmt.Sprintf("dev%d-%d", d, i)
				ctx := serve.WithCorrelation(context.Background(), "edge-t/"+cmid)
				late := i%3 == 0
				if late { // as if it had waited in the queue past its deadline
					ctx = serve.WithCommandDeadline(ctx, time.Now().Add(-time.Millisecond))
				} else {
					ctx = serve.WithCommandDeadline(ctx, time.Now().Add(time.Minute))
				}
				msg, _, err := h.Send(ctx, events.SendCommand{UserID: users[d%len(users)], ConversationID: conv,
					SendMessage: events.SendMessage{ClientMsgID: cmid, Type: "text", Text: "text of " + cmid}})
				mu.Lock()
				switch {
				case late && errors.Is(err, serve.ErrExpired):
					expired[cmid] = true
				case !late && err == nil && msg.ClientMsgID == cmid:
					live[cmid] = msg
				default:
					errs <- fmt.Errorf("send %s (late %v): %+v, %v", cmid, late, msg, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(expired) != senders*per/3 || len(live) != senders*per-senders*per/3 {
		t.Fatalf("%d expired, %d live", len(expired), len(live))
	}
	rows, err := pool.Query(context.Background(), `SELECT client_msg_id, seq FROM messages WHERE conversation_id = $1`, conv)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int64{}
	for rows.Next() {
		var cmid string
		var seq int64
		if err := rows.Scan(&cmid, &seq); err != nil {
			t.Fatal(err)
		}
		stored[cmid] = seq
	}
	if len(stored) != len(live) {
		t.Fatalf("stored %d messages, want the %d live ones", len(stored), len(live))
	}
	for cmid, m := range live {
		if seq, ok := stored[cmid]; !ok || seq != m.Seq {
			t.Fatalf("%s answered seq %d, stored %d (%v)", cmid, m.Seq, seq, ok)
		}
	}
	facts := pub.Published(events.TypeMessageCreated)
	if len(facts) != len(live) {
		t.Fatalf("published %d facts, want %d", len(facts), len(live))
	}
	for _, f := range facts {
		var data events.MessageFact
		if err := json.Unmarshal(f.Data(), &data); err != nil {
			t.Fatal(err)
		}
		if expired[data.Message.ClientMsgID] {
			t.Fatalf("expired send %s published", data.Message.ClientMsgID)
		}
	}
}

// An HTTP send still queued for its commit past HTTPQueueDeadline is refused at once (503
// unavailable, Retry-After 1) and not stored; the same send within the deadline is stored.
func TestHTTPSendQueuedPastItsDeadlineIsRefused(t *testing.T) {
	post := func(hh http.Handler, user, conv, cmid string) (int, string, string) {
		req := httptest.NewRequest("POST", "/v1/conversations/"+conv+"/messages",
			strings.NewReader(`{"client_msg_id":"`+cmid+`","type":"text","text":"x"}`))
		req = req.WithContext(mt.As(req.Context(), user))
		rec := httptest.NewRecorder()
		hh.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get("Retry-After"), rec.Body.String()
	}
	// A deadline of 1ns has passed by the time any commit takes the message.
	h, pub, hh := newSend(t, send.Config{HTTPQueueDeadline: time.Nanosecond})
	pool := poolOf(t, h)
	users := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, users...)
	code, retry, body := post(hh, users[0], conv, "late")
	if code != 503 || retry != "1" || !strings.Contains(body, `"unavailable"`) {
		t.Fatalf("queued past its deadline: %d Retry-After %q %s", code, retry, body)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d messages stored (%v), want none", n, err)
	}
	if got := len(pub.Published(events.TypeMessageCreated)); got != 0 {
		t.Fatalf("%d facts published for a refused send", got)
	}

	h2, _, hh2 := newSend(t, send.Config{})
	pool2 := poolOf(t, h2)
	users2 := mt.Users(t, pool2, 2)
	conv2 := mt.Group(t, pool2, users2...)
	if code, _, body := post(hh2, users2[0], conv2, "in-time"); code != 201 {
		t.Fatalf("in-time send: %d %s", code, body)
	}
}

// A message's fact carries parleypush exactly when another member could be pushed it: has a push
// device and has not muted the conversation, or is mentioned. The published fact and the outbox
// row (what the sweep republishes) agree.
func TestFactMarksMessagesSomeMemberCanBePushed(t *testing.T) {
	h, pub, _ := newSend(t, send.Config{})
	pool := poolOf(t, h)
	ctx := context.Background()
	users := mt.Users(t, pool, 3)
	conv := mt.Group(t, pool, users...)
	device := func(user string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO push_devices (user_id, device_id, platform, token) VALUES ($1, 'd1', 'fcm', 't')`, user); err != nil {
			t.Fatal(err)
		}
	}
	mute := func(user string, muted bool) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE conversation_members SET muted_until = CASE WHEN $3 THEN now() + interval '1 hour' END
			WHERE conversation_id = $1 AND user_id = $2`, conv, user, muted); err != nil {
			t.Fatal(err)
		}
	}
	sendAs := func(id string, mentions ...string) {
		t.Helper()
		if _, _, err := h.Send(ctx, events.SendCommand{UserID: users[0], ConversationID: conv,
			SendMessage: events.SendMessage{ClientMsgID: id, Type: "text", Text: id, Mentions: mentions}}); err != nil {
			t.Fatalf("send %s: %v", id, err)
		}
	}
	sendAs("nobody-has-a-device")
	device(users[0])
	sendAs("only-the-sender-has-one")
	device(users[1])
	sendAs("a-member-has-one")
	mute(users[1], true)
	sendAs("that-member-muted")
	sendAs("muted-but-mentioned", users[1])
	mute(users[1], false)
	want := map[string]bool{"nobody-has-a-device": false, "only-the-sender-has-one": false, "a-member-has-one": true,
		"that-member-muted": false, "muted-but-mentioned": true}

	check := func(where string, evs []cloudevents.Event) {
		t.Helper()
		if len(evs) != len(want) {
			t.Fatalf("%s: %d facts, want %d", where, len(evs), len(want))
		}
		for _, e := range evs {
			f, err := events.Decode[events.MessageFact](e)
			if err != nil {
				t.Fatal(err)
			}
			got := events.StringExtension(e, events.ExtPush)
			if w := want[f.Message.ClientMsgID]; (got == "true") != w || (got != "" && got != "true") {
				t.Errorf("%s: %s has %s=%q, want pushable=%v", where, f.Message.ClientMsgID, events.ExtPush, got, w)
			}
		}
	}
	check("published", pub.Published(events.TypeMessageCreated))
	check("outbox", mt.OutboxRows(t, pool, events.TypeMessageCreated))

	// Above 100 members the send does not look for devices (that would cost it O(members) under the
	// conversation's lock): always marked, the push function decides, as before the mark.
	big := mt.Users(t, pool, 101)
	bigConv := mt.Group(t, pool, big...)
	if _, _, err := h.Send(ctx, events.SendCommand{UserID: big[0], ConversationID: bigConv,
		SendMessage: events.SendMessage{ClientMsgID: "big", Type: "text", Text: "to many"}}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range pub.Published(events.TypeMessageCreated) {
		if f, _ := events.Decode[events.MessageFact](e); f.Message.ClientMsgID == "big" {
			found = true
			if events.StringExtension(e, events.ExtPush) != "true" {
				t.Fatalf("a 101-member group's message is not marked %s", events.ExtPush)
			}
		}
	}
	if !found {
		t.Fatal("the 101-member group's fact was not published")
	}
}

// A batch holding a retry of a stored message fails as a whole (its pipelined transaction is
// aborted) and is redone one message at a time: every retry is answered with its original, every
// new message is stored once, seqs stay gapless, and no connection is left in the failed
// transaction.
func TestBatchWithARetryFallsBackToOneByOne(t *testing.T) {
	h, _, _ := newSend(t, send.Config{Committers: 1, MaxBatch: 64})
	pool := poolOf(t, h)
	ctx := context.Background()
	users := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, users...)
	cmd := func(cmid string) events.SendCommand {
		return events.SendCommand{UserID: users[0], ConversationID: conv,
			SendMessage: events.SendMessage{ClientMsgID: cmid, Type: "text", Text: "text of " + cmid}}
	}
	originals := map[string]events.Message{}
	for i := range 8 {
		m, _, err := h.Send(ctx, cmd(fmt.Sprintf("old-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		originals[m.ClientMsgID] = m
	}
	for round := range 5 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]events.Message{}
		for i := range 16 {
			cmid := fmt.Sprintf("old-%d", i%8)
			if i%2 == 1 {
				cmid = fmt.Sprintf("new-%d-%d", round, i)
			}
			wg.Go(func() {
				m, _, err := h.Send(ctx, cmd(cmid))
				if err != nil {
					t.Errorf("%s: %v", cmid, err)
					return
				}
				mu.Lock()
				got[cmid] = m
				mu.Unlock()
			})
		}
		wg.Wait()
		for cmid, m := range got {
			if o, retry := originals[cmid]; retry && (m.ID != o.ID || m.Seq != o.Seq) {
				t.Fatalf("retry %s answered %s/%d, want the original %s/%d", cmid, m.ID, m.Seq, o.ID, o.Seq)
			}
		}
	}
	var n, maxSeq int64
	if err := pool.QueryRow(ctx, `SELECT count(*), max(seq) FROM messages WHERE conversation_id = $1`, conv).Scan(&n, &maxSeq); err != nil {
		t.Fatal(err)
	}
	if n != 8+5*8 || maxSeq != n {
		t.Fatalf("%d messages, highest seq %d; want %d, gapless", n, maxSeq, 8+5*8)
	}
	if send.LargestBatch(h) < 2 {
		t.Fatalf("no batch formed (largest %d): the fallback was not exercised", send.LargestBatch(h))
	}
	for range 4 {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st := c.Conn().PgConn().TxStatus()
		c.Release()
		if st != 'I' {
			t.Fatalf("a pooled connection is in transaction state %q", st)
		}
	}
}
