package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/fanout"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// store inserts messages 1..n of conv from sender (as send does: last_seq in step) and returns them.
func store(t *testing.T, pool *pgxpool.Pool, conv, sender string, n int) []events.Message {
	t.Helper()
	ctx := context.Background()
	at := messaging.Now().Add(-time.Minute)
	msgs := make([]events.Message, n)
	for i := range msgs {
		m := events.Message{ID: messaging.NewID(), ConversationID: conv, Seq: int64(i + 1), SenderID: sender,
			ClientMsgID: fmt.Sprintf("c-%d", i+1), Type: events.MessageText, Text: fmt.Sprintf("text %d", i+1),
			Status: events.StatusNormal, CreatedAt: at.Add(time.Duration(i) * time.Second)}
		if _, err := pool.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, m.ID, conv, m.Seq, sender, m.ClientMsgID, m.Type, m.Text, m.CreatedAt); err != nil {
			t.Fatalf("insert message: %v", err)
		}
		msgs[i] = m
	}
	if _, err := pool.Exec(ctx, `UPDATE conversations SET last_seq = $2 WHERE id = $1`, conv, n); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// messageFact is the im.message.created send publishes for m, answering frame corr ("" = HTTP send).
func messageFact(t *testing.T, m events.Message, corr string) event.Event {
	t.Helper()
	e, err := events.New("fact-"+m.ID, "/parley/functions/send", events.TypeMessageCreated, m.ConversationID,
		events.MessageFact{Message: m})
	if err != nil {
		t.Fatal(err)
	}
	e.SetTime(m.CreatedAt)
	if corr != "" {
		e.SetExtension(events.ExtCorrelationID, corr)
	}
	return e
}

func cursor(t *testing.T, pool *pgxpool.Pool, conv string) int64 {
	t.Helper()
	var d int64
	if err := pool.QueryRow(context.Background(), `SELECT coalesce((SELECT delivered_seq FROM delivery_cursors WHERE conversation_id = $1), 0)`, conv).Scan(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

func setCursor(t *testing.T, pool *pgxpool.Pool, conv string, d int64) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `INSERT INTO delivery_cursors (conversation_id, delivered_seq) VALUES ($1, $2) ON CONFLICT (conversation_id) DO UPDATE SET delivered_seq = $2`, conv, d); err != nil {
		t.Fatal(err)
	}
}

// delivered is one published delivery, decoded.
type delivered struct {
	ev   event.Event
	d    events.Delivery
	msg  events.Message
	corr string
}

func decodeAll(t *testing.T, evs []event.Event) []delivered {
	t.Helper()
	out := make([]delivered, 0, len(evs))
	for _, e := range evs {
		d, err := events.Decode[events.Delivery](e)
		if err != nil {
			t.Fatal(err)
		}
		x := delivered{ev: e, d: d, corr: events.StringExtension(e, events.ExtCorrelationID)}
		if d.Event.Type == events.TypeMessageCreated {
			f, err := events.Decode[events.MessageFact](event.Event{DataEncoded: d.Event.Data})
			if err != nil {
				t.Fatal(err)
			}
			x.msg = f.Message
			if d.Event.ConversationID != f.Message.ConversationID || d.Event.Seq != f.Message.Seq {
				t.Fatalf("delivery %s carries position %s/%d; its message is %s/%d", e.ID(),
					d.Event.ConversationID, d.Event.Seq, f.Message.ConversationID, f.Message.Seq)
			}
		}
		out = append(out, x)
	}
	return out
}

// seqs lists the message seqs of member deliveries (not reply-only ones), in publish order.
func seqs(ds []delivered) []int64 {
	var s []int64
	for _, d := range ds {
		if !d.d.ReplyOnly {
			s = append(s, d.msg.Seq)
		}
	}
	return s
}

func handle(t *testing.T, h *fanout.Handler, e event.Event) {
	t.Helper()
	if _, err := h.HandleEvent(context.Background(), e); err != nil {
		t.Fatalf("handle %s: %v", e.ID(), err)
	}
}

// TestOutOfOrderFactsDeliveredInSeqOrder: 17 reaches fanout before 16. 17 delivers 16 (read from
// PostgreSQL) and then itself; the late 16 reaches no member, only its sender's pending frame.
func TestOutOfOrderFactsDeliveredInSeqOrder(t *testing.T) {
	pool, _ := pgtest.New(t)
	pub := &mt.Publisher{}
	h := fanout.New(fanout.Config{}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	u := mt.Users(t, pool, 3)
	conv := mt.Group(t, pool, u...)
	msgs := store(t, pool, conv, u[1], 17)
	setCursor(t, pool, conv, 15)
	m16, m17 := msgs[15], msgs[16]

	handle(t, h, messageFact(t, m17, "edge-1/c/17"))
	ds := decodeAll(t, pub.Published())
	if !slices.Equal(seqs(ds), []int64{16, 17}) {
		t.Fatalf("seqs %v; want [16 17]", seqs(ds))
	}
	gap, own := ds[0], ds[1]
	if gap.corr != "" || gap.d.Event.CorrelationID != "" || gap.msg.ID != m16.ID || gap.msg.Text != m16.Text ||
		gap.ev.ID() != fanout.GapDeliveryID(m16.ID, 0) || events.PartitionKey(gap.ev) != conv ||
		!gap.msg.CreatedAt.Equal(m16.CreatedAt) || gap.d.ReplyOnly {
		t.Fatalf("gap delivery %s corr %q %+v", gap.ev.ID(), gap.corr, gap.msg)
	}
	if own.corr != "edge-1/c/17" || own.d.Event.CorrelationID != "edge-1/c/17" || own.msg.ID != m17.ID || own.d.ReplyOnly {
		t.Fatalf("own delivery corr %q %+v", own.corr, own.d)
	}
	for _, d := range ds {
		if !slices.Equal(sorted(d.d.Recipients), sorted(u)) {
			t.Fatalf("recipients %v; want %v", d.d.Recipients, u)
		}
	}
	if c := cursor(t, pool, conv); c != 17 {
		t.Fatalf("cursor %d; want 17", c)
	}

	// The late 16 from a WebSocket send: its sender alone hears of it, reply-only.
	late := messageFact(t, m16, "edge-1/c/16")
	handle(t, h, late)
	ds = decodeAll(t, pub.Published())
	if len(ds) != 3 {
		t.Fatalf("%d deliveries after the late fact; want 3", len(ds))
	}
	r := ds[2]
	if !r.d.ReplyOnly || !slices.Equal(r.d.Recipients, []string{u[1]}) || r.corr != "edge-1/c/16" ||
		r.d.Event.CorrelationID != "edge-1/c/16" || r.d.Event.ID != late.ID() || r.msg.Seq != 16 ||
		r.ev.ID() != fanout.ReplyID(late) || events.PartitionKey(r.ev) != conv {
		t.Fatalf("reply-only delivery %s %+v", r.ev.ID(), r.d)
	}
	// The late 16 from an HTTP send (nothing waits): nothing at all.
	handle(t, h, messageFact(t, m16, ""))
	if n := len(pub.Published()); n != 3 {
		t.Fatalf("%d deliveries; want nothing more for a late fact without correlation", n)
	}
	if c := cursor(t, pool, conv); c != 17 {
		t.Fatalf("cursor %d; want 17 (never moves back)", c)
	}
}

// TestDuplicateFactDeliveredOnce: outbox flush and sweep both publish a fact.
func TestDuplicateFactDeliveredOnce(t *testing.T) {
	pool, _ := pgtest.New(t)
	pub := &mt.Publisher{}
	h := fanout.New(fanout.Config{}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	msgs := store(t, pool, conv, u[0], 2)

	handle(t, h, messageFact(t, msgs[0], ""))
	handle(t, h, messageFact(t, msgs[0], ""))
	if ds := decodeAll(t, pub.Published()); !slices.Equal(seqs(ds), []int64{1}) || len(ds) != 1 {
		t.Fatalf("deliveries %v (%d); want seq 1 once", seqs(ds), len(ds))
	}
	f2 := messageFact(t, msgs[1], "edge-2/c/f")
	handle(t, h, f2)
	handle(t, h, f2)
	ds := decodeAll(t, pub.Published())
	if !slices.Equal(seqs(ds), []int64{1, 2}) || len(ds) != 3 || !ds[2].d.ReplyOnly {
		t.Fatalf("deliveries %v (%d); want seq 1, 2 and a reply-only", seqs(ds), len(ds))
	}
	if c := cursor(t, pool, conv); c != 2 {
		t.Fatalf("cursor %d; want 2", c)
	}
}

// TestGapOfSeveral: the first fact seen is 6; 1-5 are filled in from PostgreSQL, in order, every
// chunk of a message before the next message, revoked ones as stored; a retry yields the same ids.
func TestGapOfSeveral(t *testing.T) {
	pool, _ := pgtest.New(t)
	pub := &mt.Publisher{}
	h := fanout.New(fanout.Config{ChunkSize: 2}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	u := mt.Users(t, pool, 3)
	conv := mt.Group(t, pool, u...)
	msgs := store(t, pool, conv, u[2], 6)
	if _, err := pool.Exec(context.Background(), `UPDATE messages SET status = 'revoked', text = '' WHERE id = $1`, msgs[2].ID); err != nil {
		t.Fatal(err)
	}
	f := messageFact(t, msgs[5], "edge-1/c/6")
	handle(t, h, f)
	first := pub.Published()
	ds := decodeAll(t, first)
	want := []int64{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6} // two chunks each
	if !slices.Equal(seqs(ds), want) {
		t.Fatalf("seqs %v; want %v", seqs(ds), want)
	}
	for i, d := range ds {
		m := msgs[d.msg.Seq-1]
		if d.msg.ID != m.ID {
			t.Fatalf("delivery %d: message %s; want %s", i, d.msg.ID, m.ID)
		}
		if d.msg.Seq == 3 && (d.msg.Status != events.StatusRevoked || d.msg.Text != "") {
			t.Fatalf("revoked message delivered as %+v", d.msg)
		}
		if d.msg.Seq < 6 && d.ev.ID() != fanout.GapDeliveryID(m.ID, i%2) {
			t.Fatalf("gap delivery %d id %s", i, d.ev.ID())
		}
		if (d.msg.Seq == 6) != (d.corr == "edge-1/c/6") {
			t.Fatalf("delivery %d (seq %d) correlation %q", i, d.msg.Seq, d.corr)
		}
	}
	if c := cursor(t, pool, conv); c != 6 {
		t.Fatalf("cursor %d; want 6", c)
	}

	// A crash after the publish, before the cursor moved: the retry publishes the same events.
	setCursor(t, pool, conv, 0)
	handle(t, h, f)
	again := pub.Published()[len(first):]
	if len(again) != len(first) {
		t.Fatalf("retry published %d; want %d", len(again), len(first))
	}
	for i := range first {
		if first[i].ID() != again[i].ID() || string(first[i].Data()) != string(again[i].Data()) {
			t.Fatalf("retry delivery %d differs: %s vs %s", i, first[i].ID(), again[i].ID())
		}
	}
}

// TestGapBounded: a gap wider than MaxGap delivers its newest MaxGap messages (clients pull the rest).
func TestGapBounded(t *testing.T) {
	pool, _ := pgtest.New(t)
	pub := &mt.Publisher{}
	h := fanout.New(fanout.Config{MaxGap: 2}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	msgs := store(t, pool, conv, u[0], 6)
	handle(t, h, messageFact(t, msgs[5], ""))
	if got := seqs(decodeAll(t, pub.Published())); !slices.Equal(got, []int64{4, 5, 6}) {
		t.Fatalf("seqs %v; want [4 5 6]", got)
	}
}

// waitCursor waits for conv's stored cursor to reach want (the batch writer writes it shortly).
func waitCursor(t *testing.T, pool *pgxpool.Pool, conv string, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := cursor(t, pool, conv)
		if c == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cursor of %s is %d; want %d", conv, c, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cursorPublisher records the cursor seen while publishing, and fails while fail is set.
type cursorPublisher struct {
	mt.Publisher
	pool *pgxpool.Pool
	conv string
	mu   sync.Mutex
	seen []int64
}

func (p *cursorPublisher) Publish(ctx context.Context, topic string, evs ...event.Event) error {
	var d int64
	if err := p.pool.QueryRow(ctx, `SELECT coalesce((SELECT delivered_seq FROM delivery_cursors WHERE conversation_id = $1), 0)`, p.conv).Scan(&d); err != nil {
		return err
	}
	p.mu.Lock()
	p.seen = append(p.seen, d)
	p.mu.Unlock()
	return p.Publisher.Publish(ctx, topic, evs...)
}

// TestCursorAdvancesOnlyAfterPublish: a failed publish is a retryable error and leaves the cursor
// where it was; the retry delivers the gap and the fact, then moves it.
func TestCursorAdvancesOnlyAfterPublish(t *testing.T) {
	pool, _ := pgtest.New(t)
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	msgs := store(t, pool, conv, u[0], 3)
	pub := &cursorPublisher{pool: pool, conv: conv}
	h := fanout.New(fanout.Config{}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	hh, err := h.Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	f := messageFact(t, msgs[2], "edge-1/c/3")

	pub.Fail = errors.New("broker down")
	if _, err := h.HandleEvent(context.Background(), f); err == nil || events.AsError(err).Code != events.CodeUnavailable {
		t.Fatalf("publish failure: %v; want a retryable error", err)
	}
	if code, _ := mt.PostEvent(t, hh, f); code < http.StatusInternalServerError {
		t.Fatalf("publish failure over HTTP: %d; want a retryable 5xx", code)
	}
	if c := cursor(t, pool, conv); c != 0 {
		t.Fatalf("cursor %d after a failed publish; want 0", c)
	}
	pub.Fail = nil
	if code, _ := mt.PostEvent(t, hh, f); code != http.StatusOK {
		t.Fatalf("retry: %d", code)
	}
	if got := seqs(decodeAll(t, pub.Published())); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("seqs %v; want [1 2 3]", got)
	}
	waitCursor(t, pool, conv, 3) // Mount runs the batch writer: the advance is written a moment later
	// Send tells a stalled cursor (lost facts) from a busy one by when it last moved.
	var age time.Duration
	if err := pool.QueryRow(context.Background(), `SELECT extract(epoch FROM now() - advanced_at) * interval '1 second' FROM delivery_cursors WHERE conversation_id = $1`, conv).Scan(&age); err != nil || age > 5*time.Second {
		t.Fatalf("cursor advanced %s ago (%v); want just now", age, err)
	}
	for _, d := range pub.seen {
		if d != 0 {
			t.Fatalf("cursor was %d while publishing; want 0 until the publish succeeded", d)
		}
	}
}

// TestGapFilledInOrderThroughKafka: the gap and the fact, published in one call through the real
// writer, are read back from the partition in seq order.
func TestGapFilledInOrderThroughKafka(t *testing.T) {
	pool, _ := pgtest.New(t)
	cluster := kafkatest.Start(t)
	topic := cluster.Topic(t, 3)
	w, err := kafka.NewWriter(kafka.Config{Brokers: cluster.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	h := fanout.New(fanout.Config{Topic: topic}, fanout.Deps{Pool: pool, Publisher: w, Log: mt.Log()})
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	msgs := store(t, pool, conv, u[0], 8)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := h.HandleEvent(ctx, messageFact(t, msgs[7], "")); err != nil { // 8 before the rest
		t.Fatal(err)
	}
	for _, m := range msgs[:7] { // then the rest, late: nothing more
		if _, err := h.HandleEvent(ctx, messageFact(t, m, "")); err != nil {
			t.Fatal(err)
		}
	}

	got := readBack(t, ctx, cluster.Brokers, topic, 8, 200*time.Millisecond) // anything extra would show up
	if s := seqs(decodeAll(t, got)); !slices.Equal(s, []int64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("seqs read back %v; want 1..8 once each, in order", s)
	}
}

// TestBatchedCursorsUnderConcurrency: 20 conversations, each one's facts handled in seq order (as
// the ordered trigger does) and all conversations at once, with the cursor writer batching. Every
// message reaches its members exactly once, in order, from its own fact: no fact finds a gap that
// the writer has not stored yet (this process reads its unwritten advances from memory). Fewer
// statements than advances were written, and stopping the writer stores what was left.
func TestBatchedCursorsUnderConcurrency(t *testing.T) {
	pool, _ := pgtest.New(t)
	pub := &mt.Publisher{}
	h := fanout.New(fanout.Config{CursorEvery: 30 * time.Millisecond}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	ctx, stop := context.WithCancel(context.Background())
	if _, err := h.Mount(ctx, serve.Options{Log: mt.Log()}); err != nil {
		t.Fatal(err)
	}
	const convs, perConv = 20, 10
	msgs, members := map[string][]events.Message{}, map[string][]string{}
	for range convs {
		u := mt.Users(t, pool, 3) // a sender of its own per conversation (client_msg_ids repeat)
		conv := mt.Group(t, pool, u...)
		msgs[conv], members[conv] = store(t, pool, conv, u[0], perConv), u
	}
	var wg sync.WaitGroup
	for conv, ms := range msgs {
		wg.Go(func() {
			for _, m := range ms {
				if _, err := h.HandleEvent(ctx, messageFact(t, m, "edge-1/c/"+m.ID)); err != nil {
					t.Errorf("handle %s seq %d: %v", conv, m.Seq, err)
					return
				}
			}
		})
	}
	wg.Wait()
	stop()
	for conv := range msgs {
		waitCursor(t, pool, conv, perConv)
	}

	byConv := map[string][]delivered{}
	for _, d := range decodeAll(t, pub.Published()) {
		byConv[d.msg.ConversationID] = append(byConv[d.msg.ConversationID], d)
	}
	for conv, ms := range msgs {
		ds := byConv[conv]
		if got := seqs(ds); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) || len(ds) != perConv {
			t.Fatalf("conversation %s: seqs %v (%d deliveries); want 1..10 once each", conv, got, len(ds))
		}
		for i, d := range ds {
			m := ms[i]
			if d.msg.ID != m.ID || d.corr != "edge-1/c/"+m.ID || d.ev.ID() != fanout.DeliveryID(messageFact(t, m, ""), 0) ||
				events.PartitionKey(d.ev) != conv || !slices.Equal(sorted(d.d.Recipients), sorted(members[conv])) {
				t.Fatalf("conversation %s delivery %d: id %s corr %q message %s; want its own fact's delivery of %s",
					conv, i, d.ev.ID(), d.corr, d.msg.ID, m.ID)
			}
		}
	}
	if n := fanout.CursorWrites(h); n == 0 || n >= convs*perConv {
		t.Fatalf("%d cursor statements for %d advances; want batching", n, convs*perConv)
	}
	// After the writer stopped, an advance is written at once.
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	m := store(t, pool, conv, u[0], 1)[0]
	handle(t, h, messageFact(t, m, ""))
	if c := cursor(t, pool, conv); c != 1 {
		t.Fatalf("cursor %d after the writer stopped; want 1 at once", c)
	}
}

// TestCursorBatchSkipsDeletedConversations: one batch holds a conversation deleted meanwhile; the
// others are still written, and a cursor never moves back.
func TestCursorBatchSkipsDeletedConversations(t *testing.T) {
	pool, _ := pgtest.New(t)
	h := fanout.New(fanout.Config{}, fanout.Deps{Pool: pool, Publisher: &mt.Publisher{}, Log: mt.Log()})
	u := mt.Users(t, pool, 2)
	a, gone, b := mt.Group(t, pool, u...), mt.Group(t, pool, u...), mt.Group(t, pool, u...)
	setCursor(t, pool, b, 9)
	if _, err := pool.Exec(context.Background(), `DELETE FROM conversations WHERE id = $1`, gone); err != nil {
		t.Fatal(err)
	}
	if err := fanout.WriteCursors(context.Background(), h, []string{a, gone, b}, []int64{4, 5, 6}); err != nil {
		t.Fatalf("batch with a deleted conversation: %v", err)
	}
	if c := cursor(t, pool, a); c != 4 {
		t.Fatalf("cursor of a %d; want 4", c)
	}
	if c := cursor(t, pool, b); c != 9 {
		t.Fatalf("cursor of b %d; want 9 (never back)", c)
	}
	if c := cursor(t, pool, gone); c != 0 {
		t.Fatalf("deleted conversation has cursor %d", c)
	}
}
