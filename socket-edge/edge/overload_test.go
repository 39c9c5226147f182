package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/otel"
	"github.com/parley-im/parley/infra/polltest"
)

func messageDelivery(conv string, seq int64, recipients ...string) events.Delivery {
	return events.Delivery{Recipients: recipients, Event: events.DeliveredEvent{ID: newID(),
		Type: events.TypeMessageCreated, Time: time.Now().UTC(), Data: messageData(conv, seq)}}
}

func ackFrame(conv string, seq int64) map[string]any {
	return map[string]any{"type": "ack", "data": map[string]any{"conversation_id": conv, "seq": seq}}
}

// errorOf decodes an error frame's data.
func errorOf(t testing.TB, f events.Frame) events.ErrorFrame {
	t.Helper()
	var ef events.ErrorFrame
	if f.Type != events.FrameError || json.Unmarshal(f.Data, &ef) != nil {
		t.Fatalf("want an error frame, got %s %s", f.Type, f.Data)
	}
	return ef
}

func sendFrame(t testing.TB, c *websocket.Conn, id, clientMsgID string) {
	t.Helper()
	send(t, c, "send", id, map[string]any{"conversation_id": "c1", "client_msg_id": clientMsgID, "type": "text", "text": "hi"})
}

// A client that acks every message push, as docs/protocol.md asks, in a conversation far busier than
// the frame budget (20/s, bursts of 60) is never closed, and every one of its acks is applied.
func TestAckingEveryPushNeverCloses(t *testing.T) {
	h := newHarness(t, nil)
	c, _ := h.dial("u1", "s1")
	const n = 450
	done := make(chan error, 1)
	go func() { // the client: ack each push at once; after the last, prove the connection is open
		seen := 0
		for {
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, b, err := c.ReadMessage()
			if err != nil {
				done <- fmt.Errorf("after %d pushes: %w", seen, err)
				return
			}
			var f events.Frame
			_ = json.Unmarshal(b, &f)
			switch f.Type {
			case events.FramePong:
				done <- nil
				return
			case events.FrameMessage:
				var m events.MessageFact
				_ = json.Unmarshal(f.Data, &m)
				if err := c.WriteJSON(ackFrame(m.Message.ConversationID, m.Message.Seq)); err != nil {
					done <- err
					return
				}
				if seen++; seen == n {
					if err := c.WriteJSON(map[string]any{"type": "ping", "id": "end"}); err != nil {
						done <- err
						return
					}
				}
			}
		}
	}()
	// 3 pushes every 10 ms: ~300/s, 15 times the frame budget.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for seq := int64(1); seq <= n; {
		<-tick.C
		for range 3 {
			h.e.Deliver(messageDelivery("c1", seq, "u1"))
			seq++
		}
	}
	if rate := n / time.Since(start).Seconds(); rate < 100 {
		t.Fatalf("pushed only %.0f/s; the test needs > 100/s to mean anything", rate)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("acking client: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("acking client did not finish")
	}
	if got := h.e.stats.acks.Load(); got != n {
		t.Fatalf("%d acks applied, want %d", got, n)
	}
	if ig, rc := h.e.stats.acksIgnored.Load(), h.e.stats.rateClosed.Load(); ig != 0 || rc != 0 {
		t.Fatalf("acks ignored %d, rate closes %d; want none", ig, rc)
	}
}

// Acks over their own budget are ignored and counted, not a close; every other frame still spends
// the frame budget, and a flood of them still closes with 4008.
func TestAcksOverBudgetIgnoredNonAckFloodCloses4008(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AckRateLimit = 10; c.AckBurst = 20; c.RateLimit = 10; c.RateBurst = 20 })
	c, _ := h.dial("u1", "s1")
	const n = 500
	for i := range n {
		if err := c.WriteJSON(ackFrame("c1", int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	send(t, c, "ping", "after-acks", nil)
	if f := readUntil(t, c, events.FramePong); f.ID != "after-acks" {
		t.Fatalf("pong %+v", f)
	}
	applied, ignored := h.e.stats.acks.Load(), h.e.stats.acksIgnored.Load()
	if applied+ignored != n || ignored < n/2 || applied < 20 {
		t.Fatalf("acks applied %d, ignored %d; want the burst (20) and a little more applied, the rest ignored", applied, ignored)
	}
	go func() {
		for range 500 {
			if c.WriteMessage(websocket.TextMessage, []byte(`{"type":"typing","data":{"conversation_id":"c1","state":"start"}}`)) != nil {
				return
			}
		}
	}()
	if code := closeCode(t, c, 5*time.Second); code != events.CloseRateLimited {
		t.Fatalf("close code %d, want 4008", code)
	}
	if got := h.e.stats.rateClosed.Load(); got != 1 {
		t.Fatalf("4008 closes counted %d, want 1", got)
	}
}

// Over the per-connection cap a frame is answered at once with rate_limited naming it, is never
// published, and every admitted frame still gets its own answer.
func TestPendingCapPerConnectionAnswersAtOnce(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxPendingPerConn = 4; c.CommandTimeout = 30 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")

	corrs := map[string]string{} // frame id -> correlation id
	for i := 1; i <= 4; i++ {
		id := "f" + strconv.Itoa(i)
		sendFrame(t, c, id, "m"+strconv.Itoa(i))
		corr := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
		if !strings.HasSuffix(corr, "/"+id) {
			t.Fatalf("command for %s has correlation %q", id, corr)
		}
		corrs[id] = corr
	}
	start := time.Now()
	sendFrame(t, c, "f5", "m5")
	f := readFrame(t, c)
	if ef := errorOf(t, f); f.ID != "f5" || ef.Code != events.CodeRateLimited {
		t.Fatalf("over the cap: %+v %s; want error rate_limited for f5", f, f.Data)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("rate_limited came after %v; want it at once", waited)
	}

	// Answer the four out of order; each result names its own frame.
	order := []string{"f3", "f1", "f4", "f2"}
	for _, id := range order {
		seq, _ := strconv.Atoi(strings.TrimPrefix(id, "f"))
		h.deliverMessage("c1", int64(seq), corrs[id], "u1")
	}
	for range order {
		f := readUntil(t, c, events.FrameResult)
		var m events.MessageFact
		_ = json.Unmarshal(f.Data, &m)
		if want := fmt.Sprintf("m-c1-%s", strings.TrimPrefix(f.ID, "f")); m.Message.ID != want || corrs[f.ID] == "" {
			t.Fatalf("result for frame %q carries message %q", f.ID, m.Message.ID)
		}
		delete(corrs, f.ID)
	}
	// Room again: the next frame is admitted and published; f5 never was.
	sendFrame(t, c, "f6", "m6")
	corr := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
	if !strings.HasSuffix(corr, "/f6") {
		t.Fatalf("next command published has correlation %q, want f6's", corr)
	}
	h.deliverMessage("c1", 6, corr, "u1")
	if f := readUntil(t, c, events.FrameResult); f.ID != "f6" {
		t.Fatalf("result %+v", f)
	}
	if got := h.e.stats.shed[shedConn].Load(); got != 1 {
		t.Fatalf("conn_pending sheds %d, want 1", got)
	}
}

// Over the per-instance cap a frame is answered at once with unavailable.
func TestPendingCapPerEdgeAnswersUnavailable(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxPendingPerEdge = 2; c.CommandTimeout = 30 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	a, _ := h.dial("u1", "s1")
	b, _ := h.dial("u2", "s2")
	sendFrame(t, a, "a1", "ma1")
	sendFrame(t, b, "b1", "mb1")
	nextEvent(t, cmds, events.TypeMessageSend)
	nextEvent(t, cmds, events.TypeMessageSend)
	sendFrame(t, b, "b2", "mb2")
	f := readFrame(t, b)
	if ef := errorOf(t, f); f.ID != "b2" || ef.Code != events.CodeUnavailable {
		t.Fatalf("over the edge cap: %+v %s", f, f.Data)
	}
	if got := h.e.stats.shed[shedEdge].Load(); got != 1 {
		t.Fatalf("edge_pending sheds %d, want 1", got)
	}
}

// Every command the edge publishes carries a deadline of publish time + CommandDeadline.
func TestCommandsCarryDeadline(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CommandDeadline = 1500 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")
	before := time.Now()
	sendFrame(t, c, "f1", "m1")
	send(t, c, "typing", "t1", map[string]any{"conversation_id": "c1", "state": "start"})
	sent := nextEvent(t, cmds, events.TypeMessageSend)
	typing := nextEvent(t, cmds, events.TypeTypingUpdate)
	after := time.Now()
	for _, ev := range []event.Event{sent, typing} {
		raw := events.StringExtension(ev, events.ExtDeadline)
		dl, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			t.Fatalf("%s deadline %q: %v", ev.Type(), raw, err)
		}
		if dl.Before(before.Add(1500*time.Millisecond)) || dl.After(after.Add(1500*time.Millisecond)) {
			t.Fatalf("%s deadline %v, want publish time + 1.5s (published between %v and %v)", ev.Type(), dl, before, after)
		}
		if events.Expired(ev, dl.Add(-time.Millisecond)) || !events.Expired(ev, dl.Add(time.Millisecond)) {
			t.Fatalf("%s: Expired does not turn at the deadline %v", ev.Type(), dl)
		}
	}
}

// A frame nobody answers gets unavailable within CommandTimeout, with the retry advice.
func TestUnansweredFrameUnavailableWithinTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CommandDeadline = 200 * time.Millisecond; c.CommandTimeout = 500 * time.Millisecond })
	c, _ := h.dial("u1", "s1")
	start := time.Now()
	sendFrame(t, c, "f1", "m1")
	f := readUntil(t, c, events.FrameError)
	waited := time.Since(start)
	ef := errorOf(t, f)
	if f.ID != "f1" || ef.Code != events.CodeUnavailable || !strings.Contains(ef.Message, "same client_msg_id") {
		t.Fatalf("answer %+v %s", f, f.Data)
	}
	if waited < 500*time.Millisecond || waited > 1500*time.Millisecond {
		t.Fatalf("unavailable after %v, want at CommandTimeout (500ms)", waited)
	}
	if got := h.e.stats.unavailable[causeTimeout].Load(); got != 1 || h.e.cmds.len() != 0 {
		t.Fatalf("timeouts counted %d, pending %d", got, h.e.cmds.len())
	}
}

// stallingProducer stands in for a broker that takes no writes: while stalled, a publish waits
// until its context ends.
type stallingProducer struct {
	events.Publisher
	stalled atomic.Bool
}

func (p *stallingProducer) Publish(ctx context.Context, topic string, evs ...event.Event) error {
	if p.stalled.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return p.Publisher.Publish(ctx, topic, evs...)
}

// A broker that takes no writes is answered within the command deadline, not after the timeout.
func TestBrokerOutageAnsweredWithinDeadline(t *testing.T) {
	var sp *stallingProducer
	h := newHarnessDeps(t, func(c *Config) { c.CommandDeadline = 300 * time.Millisecond; c.CommandTimeout = 10 * time.Second },
		func(d *Deps) { sp = &stallingProducer{Publisher: d.Producer}; d.Producer = sp })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")
	sp.stalled.Store(true)
	start := time.Now()
	sendFrame(t, c, "f1", "m1")
	f := readUntil(t, c, events.FrameError)
	waited := time.Since(start)
	if ef := errorOf(t, f); f.ID != "f1" || ef.Code != events.CodeUnavailable {
		t.Fatalf("answer %+v %s", f, f.Data)
	}
	if waited < 300*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("unavailable after %v, want at the 300ms deadline", waited)
	}
	if got := h.e.stats.unavailable[causePublish].Load(); got != 1 {
		t.Fatalf("publish failures counted %d, want 1", got)
	}
	// The broker is back: the retry goes through.
	sp.stalled.Store(false)
	sendFrame(t, c, "f2", "m1")
	corr := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
	h.deliverMessage("c1", 1, corr, "u1")
	if f := readUntil(t, c, events.FrameResult); f.ID != "f2" {
		t.Fatalf("retry answer %+v", f)
	}
}

// While recent sends wait longer than ShedAnswerLatency, a new send is refused at once and not
// published; once the signal is stale, sends go through again.
func TestSlowAnswersShedNewSends(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.CommandDeadline = 200 * time.Millisecond
		c.CommandTimeout = 300 * time.Millisecond
		c.ShedAnswerLatency = 100 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")
	// Five sends time out (300ms each): the mean (alpha 0.2, from 0) goes to 60, 108, 146, 177, 201ms,
	// backed by the five observations a mean needs.
	ids := []string{"f1", "f2", "f3", "f4", "f5"}
	for _, id := range ids {
		sendFrame(t, c, id, "m"+id)
	}
	// The five timers end within a millisecond of each other: the answers may come in any order.
	answered := map[string]bool{}
	for range ids {
		f := readUntil(t, c, events.FrameError)
		if errorOf(t, f).Code != events.CodeUnavailable || answered[f.ID] {
			t.Fatalf("timeout answer %+v %s", f, f.Data)
		}
		answered[f.ID] = true
		nextEvent(t, cmds, events.TypeMessageSend)
	}
	for _, id := range ids {
		if !answered[id] {
			t.Fatalf("%s not answered (answers %v)", id, answered)
		}
	}
	sendFrame(t, c, "f6", "m6")
	f := readUntil(t, c, events.FrameError)
	if ef := errorOf(t, f); f.ID != "f6" || ef.Code != events.CodeUnavailable || !strings.Contains(ef.Message, "overloaded") {
		t.Fatalf("shed answer %+v %s", f, f.Data)
	}
	if got := h.e.stats.shed[shedLatency].Load(); got != 1 {
		t.Fatalf("answer_latency sheds %d, want 1", got)
	}
	// No answers for latencyFresh: the signal goes stale and the next send is published (f6 never was).
	polltest.Until(t, 10*time.Second, "answer latency back under the bound", func() bool { return !h.e.latency.high(h.e.cfg.ShedAnswerLatency, time.Now()) })
	sendFrame(t, c, "f7", "m7")
	if corr := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID); !strings.HasSuffix(corr, "/f7") {
		t.Fatalf("next command published has correlation %q, want f7's", corr)
	}
}

// While message deliveries arrive more than ShedDeliveryLag after their message was stored, a new
// send is refused at once and not published; once deliveries catch up, sends go through again.
func TestDeliveryLagShedsNewSends(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ShedDeliveryLag = 500 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")
	late := func(seq int64, age time.Duration) {
		h.publishDelivery(events.Delivery{Recipients: []string{"u1"}, Event: events.DeliveredEvent{ID: newID(),
			Type: events.TypeMessageCreated, Time: time.Now().Add(-age).UTC(), Data: messageData("c9", seq)}})
	}
	late(1, 10*time.Second) // one outlier alone (a cold start) sheds nothing
	polltest.Until(t, 10*time.Second, "a delivery lag measured", func() bool { return h.e.lag.value() > 1 })
	if h.e.lag.high(h.e.cfg.ShedDeliveryLag, time.Now()) {
		t.Fatal("one slow delivery made the instance shed")
	}
	for seq := int64(2); seq <= 10; seq++ {
		late(seq, 3*time.Second)
	}
	polltest.Until(t, 10*time.Second, "delivery lag over the bound", func() bool { return h.e.lag.high(h.e.cfg.ShedDeliveryLag, time.Now()) })
	sendFrame(t, c, "f1", "m1")
	f := readUntil(t, c, events.FrameError)
	if ef := errorOf(t, f); f.ID != "f1" || ef.Code != events.CodeUnavailable || !strings.Contains(ef.Message, "overloaded") {
		t.Fatalf("shed answer %+v %s", f, f.Data)
	}
	if got := h.e.stats.shed[shedLag].Load(); got != 1 {
		t.Fatalf("delivery_lag sheds %d, want 1", got)
	}
	// The path catches up: prompt deliveries bring the smoothed lag down and the next send is published.
	for seq := int64(11); seq <= 40; seq++ {
		late(seq, 0)
	}
	polltest.Until(t, 10*time.Second, "delivery lag back under the bound", func() bool { return !h.e.lag.high(h.e.cfg.ShedDeliveryLag, time.Now()) })
	sendFrame(t, c, "f2", "m2")
	if corr := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID); !strings.HasSuffix(corr, "/f2") {
		t.Fatalf("next command published has correlation %q, want f2's (f1 was shed)", corr)
	}
}

// syncBuffer is a log sink safe for the edge's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log lines whose msg is msg.
func (s *syncBuffer) lines(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// tracedCommand is a published command and the trace id its record headers carry.
type tracedCommand struct {
	ev      event.Event
	traceID string
}

func (h *harness) tracedCommands(ctx context.Context) <-chan tracedCommand {
	out := make(chan tracedCommand, 64)
	go func() {
		_ = kafka.Consume(ctx, kafka.ConsumerConfig{Brokers: h.kc.Brokers, Topics: []string{h.broker},
			GroupID: "test-" + newID(), MaxWait: 100 * time.Millisecond},
			func(_ context.Context, m kafka.Message) error {
				ev, err := m.Event()
				if err == nil && ev.Type() == events.TypeMessageSend {
					sc := trace.SpanContextFromContext(m.Context(context.Background()))
					select {
					case out <- tracedCommand{ev, sc.TraceID().String()}:
					case <-ctx.Done():
					}
				}
				return nil
			})
	}()
	return out
}

// metricValue finds the sample of name whose labels include every "k=v" of labels.
func metricValue(t *testing.T, body, name string, labels ...string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			ok = ok && strings.Contains(line, k+`="`+v+`"`)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		return v
	}
	t.Fatalf("no sample %s%v in:\n%s", name, labels, body)
	return 0
}

// After pushes, acks, a shed, a timeout and a 4008 close, GET /metrics (the process's infra/otel
// handler) shows each, and the unavailable answer and the close are logged at WARN with trace ids.
func TestMetricsAndWarnLogsShowWhy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tel, err := otel.Setup(ctx, otel.Config{Service: "socket-edge-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background()) //nolint:errcheck // test
	logs := &syncBuffer{}
	h := newHarnessDeps(t, func(c *Config) {
		c.MaxPendingPerConn = 1
		c.CommandDeadline = 300 * time.Millisecond
		c.CommandTimeout = 400 * time.Millisecond
		c.RateLimit, c.RateBurst = 10, 20
	}, func(d *Deps) {
		d.Meter = tel.Meter.Meter("test")
		d.Tracer = tel.Tracer.Tracer("test")
		d.Log = slog.New(otel.LogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	})
	cmds := h.tracedCommands(ctx)
	a, _ := h.dial("u1", "s1")
	b, _ := h.dial("u2", "s2")

	for seq := int64(1); seq <= 5; seq++ {
		h.e.Deliver(messageDelivery("c1", seq, "u1"))
	}
	for range 5 {
		f := readUntil(t, a, events.FrameMessage)
		var m events.MessageFact
		_ = json.Unmarshal(f.Data, &m)
		if err := a.WriteJSON(ackFrame("c1", m.Message.Seq)); err != nil {
			t.Fatal(err)
		}
	}
	sendFrame(t, a, "f1", "m1")
	sendFrame(t, a, "f2", "m2") // over the cap of 1
	cmd := <-cmds
	for _, want := range []string{"f2", "f1"} {
		if f := readUntil(t, a, events.FrameError); f.ID != want {
			t.Fatalf("answer %+v %s, want %s", f, f.Data, want)
		}
	}
	go func() {
		for range 200 {
			if b.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
				return
			}
		}
	}()
	if code := closeCode(t, b, 5*time.Second); code != events.CloseRateLimited {
		t.Fatalf("flood: close %d", code)
	}
	polltest.Until(t, 10*time.Second, "one connection", func() bool { return h.e.Connections() == 1 })

	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	send := "type=" + events.TypeMessageSend
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_edge_connections", nil, 1},
		{"parley_edge_pending_commands", nil, 0},
		{"parley_edge_pushes_total", nil, 5},
		{"parley_edge_acks_total", nil, 5},
		{"parley_edge_acks_ignored_total", nil, 0},
		{"parley_edge_resends_total", nil, 0},
		{"parley_edge_closes_total", []string{"code=4008", "reason=rate_limited"}, 1},
		{"parley_edge_closes_total", []string{"code=4009", "reason=slow_consumer"}, 0},
		{"parley_edge_commands_shed_total", []string{"reason=conn_pending"}, 1},
		{"parley_edge_commands_shed_total", []string{"reason=edge_pending"}, 0},
		{"parley_edge_unavailable_total", []string{"cause=timeout"}, 1},
		{"parley_edge_unavailable_total", []string{"cause=publish_failed"}, 0},
		{"parley_edge_command_answer_duration_seconds_count", []string{send, "outcome=timeout"}, 1},
		{"parley_edge_command_answer_duration_seconds_bucket", []string{send, "outcome=timeout", "le=0.25"}, 0},
		{"parley_edge_command_answer_duration_seconds_bucket", []string{send, "outcome=timeout", "le=0.5"}, 1},
		{"parley_edge_delivery_lag_seconds_count", nil, 5},
	} {
		if got := metricValue(t, body, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if v := metricValue(t, body, "parley_edge_send_answer_latency_mean_seconds"); v < 0.07 || v > 0.09 {
		t.Errorf("answer latency mean %v, want 0.2 x 400ms", v)
	}

	// The unavailable answer is logged in the command's trace, with its ids.
	un := logs.lines("command answered unavailable")
	if len(un) != 1 {
		t.Fatalf("%d unavailable log lines, want 1", len(un))
	}
	corr := events.StringExtension(cmd.ev, events.ExtCorrelationID)
	for k, want := range map[string]string{"level": "WARN", "cause": "timeout", "trace_id": cmd.traceID, "event_id": cmd.ev.ID(),
		"correlation_id": corr, "user": "u1", "frame_id": "f1"} {
		if un[0][k] != want {
			t.Errorf("unavailable log %s = %v, want %q (%v)", k, un[0][k], want, un[0])
		}
	}
	if cmd.traceID == (trace.TraceID{}).String() || un[0]["conn"] == "" || !strings.Contains(corr, fmt.Sprint(un[0]["conn"])) {
		t.Errorf("unavailable log without a trace or conn: %v (command trace %s)", un[0], cmd.traceID)
	}
	rl := logs.lines("connection closed: rate limited")
	if len(rl) != 1 || rl[0]["level"] != "WARN" || rl[0]["user"] != "u2" || rl[0]["conn"] == "" || len(fmt.Sprint(rl[0]["trace_id"])) != 32 {
		t.Errorf("4008 log lines %v", rl)
	}
}

// Sends in flight over the adaptive limit are answered unavailable at once and never published;
// every way a send leaves the pending set (answer, rejection, timeout, failed publish, a frame id
// sent again) gives its place back, so the limit never leaks.
func TestSendLimitShedsAndReleases(t *testing.T) {
	var sp *stallingProducer
	h := newHarnessDeps(t, func(c *Config) {
		c.SendLimitMin = 2
		c.CommandDeadline = 300 * time.Millisecond
		c.CommandTimeout = 800 * time.Millisecond
	}, func(d *Deps) { sp = &stallingProducer{Publisher: d.Producer}; d.Producer = sp })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	a, _ := h.dial("u1", "s1")
	b, _ := h.dial("u2", "s2")
	if h.e.sends == nil || h.e.sends.Limit() != 2 {
		t.Fatalf("send limit not built at its floor of 2")
	}
	inflight := func(want int) {
		t.Helper()
		if got := h.e.sends.Inflight(); got != want {
			t.Fatalf("sends holding the limit: %d, want %d", got, want)
		}
	}

	sendFrame(t, a, "a1", "ma1")
	corrA1 := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
	sendFrame(t, a, "a1", "ma1") // the same frame id again replaces the first: still one place
	corrA1b := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
	if corrA1b != corrA1 {
		t.Fatalf("a repeated frame id got correlation %q, first %q", corrA1b, corrA1)
	}
	sendFrame(t, b, "b1", "mb1")
	corrB1 := events.StringExtension(nextEvent(t, cmds, events.TypeMessageSend), events.ExtCorrelationID)
	inflight(2)

	start := time.Now()
	sendFrame(t, b, "b2", "mb2")
	f := readFrame(t, b)
	if ef := errorOf(t, f); f.ID != "b2" || ef.Code != events.CodeUnavailable {
		t.Fatalf("over the send limit: %+v %s; want unavailable for b2", f, f.Data)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("the refusal came after %v; want it at once", waited)
	}
	if got := h.e.stats.shed[shedLimit].Load(); got != 1 {
		t.Fatalf("send_limit sheds %d, want 1", got)
	}

	// An answer gives the place back: the next send is admitted and answered with its own result.
	h.deliverMessage("c1", 1, corrA1, "u1")
	if f := readUntil(t, a, events.FrameResult); f.ID != "a1" {
		t.Fatalf("result %+v", f)
	}
	inflight(1)
	h.deliverMessage("c1", 2, corrB1, "u2")
	if f := readUntil(t, b, events.FrameResult); f.ID != "b1" {
		t.Fatalf("result %+v", f)
	}
	inflight(0)

	// A send published and never answered holds its place until its timeout answers it.
	sendFrame(t, a, "a2", "ma2")
	nextEvent(t, cmds, events.TypeMessageSend)
	inflight(1)
	if f := readUntil(t, a, events.FrameError); f.ID != "a2" {
		t.Fatalf("timeout answer %+v", f)
	}
	inflight(0)

	// A failed publish gives its place back too.
	sp.stalled.Store(true)
	sendFrame(t, a, "a3", "ma3")
	if f := readUntil(t, a, events.FrameError); f.ID != "a3" {
		t.Fatalf("publish failure answer %+v", f)
	}
	sp.stalled.Store(false)
	inflight(0)
	if got := h.e.stats.shed[shedLimit].Load(); got != 1 {
		t.Fatalf("send_limit sheds %d after the place was free, want still 1", got)
	}
}

// The limit is off when asked, and when its floor is not below the instance cap (it could only
// duplicate the cap).
func TestSendLimitOff(t *testing.T) {
	for _, c := range []Config{{SendLimitMin: -1}, {SendLimitMin: 10, MaxPendingPerEdge: 10}} {
		if err := c.setDefaults(); err != nil {
			t.Fatal(err)
		}
		if c.SendLimitMin >= 0 {
			t.Fatalf("%+v: limit on", c)
		}
	}
	c := Config{}
	if err := c.setDefaults(); err != nil || c.SendLimitMin != 50 {
		t.Fatalf("default floor %d (%v), want 50", c.SendLimitMin, err)
	}
}
