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
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/otel"
)

func messageDelivery(conv string, seq int64, recipients ...string) events.Delivery {
	return events.Delivery{Recipients: recipients, Event: events.DeliveredEvent{ID: newID(),
		Type: events.TypeMessageCreated, Time: time.Now().UTC(), Data: messageData(conv, seq)}}
}

func ackFrame(conv string, seq int64) map[string]any {
	return map[string]any{"type": "ack", "data": map[string]any{"conversation_id": conv, "seq": seq}}
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

// After pushes, acks and a 4008 close, GET /metrics (the process's infra/otel handler) shows each,
// and the close is logged at WARN with a trace id.
func TestMetricsAndWarnLogsShowWhy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tel, err := otel.Setup(ctx, otel.Config{Service: "socket-edge-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background()) //nolint:errcheck // test
	logs := &syncBuffer{}
	h := newHarnessDeps(t, func(c *Config) { c.RateLimit, c.RateBurst = 10, 20 }, func(d *Deps) {
		d.Meter = tel.Meter.Meter("test")
		d.Tracer = tel.Tracer.Tracer("test")
		d.Log = slog.New(otel.LogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	})
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
	waitFor(t, func() bool { return h.e.Connections() == 1 })

	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_edge_connections", nil, 1},
		{"parley_edge_pushes_total", nil, 5},
		{"parley_edge_acks_total", nil, 5},
		{"parley_edge_acks_ignored_total", nil, 0},
		{"parley_edge_resends_total", nil, 0},
		{"parley_edge_closes_total", []string{"code=4008", "reason=rate_limited"}, 1},
		{"parley_edge_closes_total", []string{"code=4009", "reason=slow_consumer"}, 0},
		{"parley_edge_delivery_lag_seconds_count", nil, 5},
	} {
		if got := metricValue(t, body, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	rl := logs.lines("connection closed: rate limited")
	if len(rl) != 1 || rl[0]["level"] != "WARN" || rl[0]["user"] != "u2" || rl[0]["conn"] == "" || len(fmt.Sprint(rl[0]["trace_id"])) != 32 {
		t.Errorf("4008 log lines %v", rl)
	}
}
