package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/events"
)

// publishDelivery produces d to the harness's im.delivery topic.
func (h *harness) publishDelivery(d events.Delivery) {
	h.t.Helper()
	ev, err := events.New(newID(), "/parley/functions/test", events.TypeDelivery, d.Recipients[0], d)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.w.Publish(ctx, h.delivery, ev); err != nil {
		h.t.Fatal(err)
	}
}

func messageData(conv string, seq int64) json.RawMessage {
	b, _ := json.Marshal(events.MessageFact{Message: events.Message{ID: fmt.Sprintf("m-%s-%d", conv, seq), ConversationID: conv,
		Seq: seq, SenderID: "u1", Type: "text", Text: "x", Status: "normal", CreatedAt: time.Now().UTC()}})
	return b
}

// deliverMessage produces a message delivery for conv/seq, optionally answering corr.
func (h *harness) deliverMessage(conv string, seq int64, corr string, recipients ...string) {
	h.t.Helper()
	h.publishDelivery(events.Delivery{Recipients: recipients, Event: events.DeliveredEvent{ID: newID(),
		Type: events.TypeMessageCreated, CorrelationID: corr, Time: time.Now().UTC(), Data: messageData(conv, seq)}})
}

// marker produces a typing push: frames are delivered in order, so once it is read, anything
// delivered before it would have been read already.
func (h *harness) marker(state string, recipients ...string) {
	h.t.Helper()
	h.deliver(events.TypeTypingUpdate, "", map[string]any{"conversation_id": "mark", "user_id": "x", "state": state}, recipients...)
}

// framesUntilMarker returns the frames read before the marker with state.
func framesUntilMarker(t *testing.T, c *websocket.Conn, state string) []events.Frame {
	t.Helper()
	var out []events.Frame
	for {
		f := readFrame(t, c)
		if f.Type == events.FrameTypingPush && strings.Contains(string(f.Data), `"state":"`+state+`"`) {
			return out
		}
		out = append(out, f)
	}
}

func pushedSeqsOf(t *testing.T, fs []events.Frame) []string {
	t.Helper()
	var out []string
	for _, f := range fs {
		if f.Type != events.FrameMessage {
			continue
		}
		var m events.MessageFact
		if err := json.Unmarshal(f.Data, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s/%d", m.Message.ConversationID, m.Message.Seq))
	}
	return out
}

func TestDuplicateMessagePushDropped(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CommandTimeout = 5 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")
	d, _ := h.dial("u2", "s2")

	h.deliverMessage("c1", 5, "", "u1", "u2")
	h.deliverMessage("c1", 5, "", "u1", "u2") // published twice
	h.deliverMessage("c1", 4, "", "u1", "u2") // late
	h.deliverMessage("c2", 1, "", "u1", "u2") // another conversation has its own seqs
	h.deliverMessage("c1", 6, "", "u1", "u2")
	h.marker("m1", "u1", "u2")
	for _, ws := range []*websocket.Conn{c, d} {
		if got := strings.Join(pushedSeqsOf(t, framesUntilMarker(t, ws, "m1")), " "); got != "c1/5 c2/1 c1/6" {
			t.Fatalf("pushes %q; want c1/5 c2/1 c1/6", got)
		}
	}

	// A repeat that answers a pending frame still answers it, and is not pushed again.
	send(t, c, "send", "f1", map[string]any{"conversation_id": "c1", "client_msg_id": "k1", "type": "text", "text": "x"})
	corr := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
	h.deliverMessage("c1", 6, corr, "u1", "u2")
	h.marker("m2", "u1", "u2")
	fs := framesUntilMarker(t, c, "m2")
	if len(fs) != 1 || fs[0].Type != events.FrameResult || fs[0].ID != "f1" || !strings.Contains(string(fs[0].Data), `"seq":6`) {
		t.Fatalf("frames %+v; want only the result of f1", fs)
	}
	if fs := framesUntilMarker(t, d, "m2"); len(fs) != 0 {
		t.Fatalf("other member got %+v; want nothing", fs)
	}
}

func TestReplyOnlyAnswersWithoutPush(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CommandTimeout = 5 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")
	other, _ := h.dial("u1", "s2") // the sender's other device

	send(t, c, "send", "f1", map[string]any{"conversation_id": "c1", "client_msg_id": "k1", "type": "text", "text": "x"})
	corr := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
	h.publishDelivery(events.Delivery{Recipients: []string{"u1"}, ReplyOnly: true, Event: events.DeliveredEvent{ID: newID(),
		Type: events.TypeMessageCreated, CorrelationID: corr, Time: time.Now().UTC(), Data: messageData("c1", 3)}})
	h.marker("m", "u1")
	fs := framesUntilMarker(t, c, "m")
	if len(fs) != 1 || fs[0].Type != events.FrameResult || fs[0].ID != "f1" || !strings.Contains(string(fs[0].Data), `"seq":3`) {
		t.Fatalf("frames %+v; want only the result of f1", fs)
	}
	if fs := framesUntilMarker(t, other, "m"); len(fs) != 0 {
		t.Fatalf("other device got %+v; want nothing", fs)
	}
	// The answer did not count as a push: the message itself still reaches the connection.
	h.deliverMessage("c1", 3, "", "u1")
	if f := readUntil(t, c, events.FrameMessage); !strings.Contains(string(f.Data), `"seq":3`) {
		t.Fatalf("push %s", f.Data)
	}
}

// TestIdleConnHoldsNoPushState: the per-connection seq memory is allocated on the first message push
// only; afterwards recording a push costs no allocation; it keeps the most recent conversations.
func TestIdleConnHoldsNoPushState(t *testing.T) {
	h := newHarness(t, nil)
	ws, _ := h.dial("idle", "s1")
	var c *conn
	h.e.hub.each("idle", func(x *conn) { c = x })
	if c == nil {
		t.Fatal("connection not in the hub")
	}
	h.marker("t", "idle") // a non-message push
	framesUntilMarker(t, ws, "t")
	c.mu.Lock()
	idle := c.pushed
	c.mu.Unlock()
	if idle != nil {
		t.Fatal("an idle connection allocated its pushed-seq map")
	}
	h.deliverMessage("c1", 1, "", "idle")
	readUntil(t, ws, events.FrameMessage)
	c.mu.Lock()
	n := 0
	if c.pushed != nil {
		n = len(c.pushed.m)
	}
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d conversations remembered; want 1", n)
	}

	b := &conn{}
	if !b.firstPush("warm", 1) {
		t.Fatal("first push refused")
	}
	seq := int64(1)
	if a := testing.AllocsPerRun(1000, func() { seq++; b.firstPush("warm", seq) }); a != 0 {
		t.Fatalf("%v allocations per recorded push; want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { b.firstPush("warm", 1) }); a != 0 {
		t.Fatalf("%v allocations per dropped repeat; want 0", a)
	}
	if b.firstPush("warm", seq) || !b.firstPush("warm", seq+1) || !b.firstPush("no-seq", 0) || !b.firstPush("no-seq", 0) {
		t.Fatal("firstPush: repeats must be refused, new seqs and seq-less messages accepted")
	}

	// Bounded: the least recently pushed conversations are forgotten first.
	for i := range maxPushedConvs + 50 {
		b.firstPush(fmt.Sprintf("conv-%d", i), 1)
		if i%10 == 0 {
			b.firstPush("warm", seq+2+int64(i)) // kept recent
		}
	}
	if len(b.pushed.m) > maxPushedConvs {
		t.Fatalf("%d conversations remembered; want at most %d", len(b.pushed.m), maxPushedConvs)
	}
	if _, ok := b.pushed.m["warm"]; !ok {
		t.Fatal("a recently pushed conversation was evicted")
	}
	if _, ok := b.pushed.m["conv-0"]; ok {
		t.Fatal("the least recent conversation was kept")
	}
	if b.firstPush(fmt.Sprintf("conv-%d", maxPushedConvs+49), 1) {
		t.Fatal("a recent conversation's repeat was pushed")
	}
}
