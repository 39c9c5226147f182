package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/polltest"
)

// testTokens stands in for infra/auth's OIDC verifier: a token is valid when it was issued by the
// test (a forged or unknown one is refused, as a bad signature would be). "banned" users are
// refused with forbidden, the way the real verifier reports a ban.
type testTokens struct {
	mu sync.Mutex
	m  map[string]auth.Principal
}

func (v *testTokens) issue(user, session string, ttl time.Duration) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	v.mu.Lock()
	v.m[tok] = auth.Principal{UserID: user, SessionID: session, ExpiresAt: time.Now().Add(ttl)}
	v.mu.Unlock()
	return tok
}

func (v *testTokens) Verify(_ context.Context, raw string) (auth.Principal, error) {
	v.mu.Lock()
	p, ok := v.m[raw]
	v.mu.Unlock()
	if !ok {
		return auth.Principal{}, errors.New("invalid token")
	}
	if strings.HasPrefix(p.UserID, "banned") {
		return auth.Principal{}, events.Errorf(events.CodeForbidden, "banned")
	}
	return p, nil
}

type harness struct {
	t        testing.TB
	e        *Edge
	srv      *httptest.Server
	tokens   *testTokens
	rdb      *goredis.Client
	prefix   string
	kc       *kafkatest.Cluster
	w        *kafka.Writer
	broker   string // command topic
	delivery string // im.delivery stand-in
}

func newHarness(t testing.TB, mut func(*Config)) *harness {
	t.Helper()
	return newHarnessDeps(t, mut, nil)
}

// newHarnessDeps is newHarness with a hook to replace collaborators (producer, meter, tracer, log).
func newHarnessDeps(t testing.TB, mut func(*Config), dmut func(*Deps)) *harness {
	t.Helper()
	kc := kafkatest.Start(t)
	h := &harness{t: t, kc: kc, tokens: &testTokens{m: map[string]auth.Principal{}}}
	h.broker = kc.Topic(t, 1)
	h.delivery = kc.Topic(t, 1)
	w, err := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// kafka-go's Close waits for in-flight batches; do not let a stuck one hang the suite.
		done := make(chan struct{})
		go func() { _ = w.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Log("kafka writer close timed out")
		}
	})
	h.w = w
	h.rdb = goredis.NewClient(&goredis.Options{Addr: redisAddr()})
	t.Cleanup(func() { _ = h.rdb.Close() })
	if err := h.rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	h.prefix = "test:" + newID() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := h.rdb.Keys(ctx, h.prefix+"*").Result()
		if len(keys) > 0 {
			h.rdb.Del(ctx, keys...)
		}
	})
	cfg := Config{EdgeID: "edge-t", KafkaBrokers: kc.Brokers, BrokerTopic: h.broker, DeliveryTopic: h.delivery,
		DeliveryFromStart: true, RedisPrefix: h.prefix, AllowedOrigins: []string{"https://app.parley.example"},
		HeartbeatInterval: 5 * time.Second}
	if mut != nil {
		mut(&cfg)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// A meter of its own: an edge left over from an earlier test must not report into a later
	// test's metrics through the global provider.
	deps := Deps{Verifier: h.tokens, Tickets: auth.NewTickets(h.rdb, h.prefix), Producer: w, Redis: h.rdb, Log: log,
		Meter: noop.NewMeterProvider().Meter("test")}
	if dmut != nil {
		dmut(&deps)
	}
	e, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	h.srv = httptest.NewServer(e.Handler())
	t.Cleanup(func() {
		h.srv.CloseClientConnections()
		h.srv.Close()
		cancel()
		<-done
	})
	return h
}

func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func (h *harness) url() string { return "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/v1/ws" }

// dial connects with a bearer header and returns the connection after reading hello.
func (h *harness) dial(user, session string) (*websocket.Conn, events.Hello) {
	h.t.Helper()
	tok := h.tokens.issue(user, session, time.Hour)
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	c, resp, err := websocket.DefaultDialer.Dial(h.url(), hdr)
	if err != nil {
		h.t.Fatalf("dial: %v (%v)", err, resp)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	f := readFrame(h.t, c)
	if f.Type != events.FrameHello {
		h.t.Fatalf("first frame %q, want hello", f.Type)
	}
	var hello events.Hello
	_ = json.Unmarshal(f.Data, &hello)
	return c, hello
}

// deliver produces an im.delivery event the way fanout and realtime do.
func (h *harness) deliver(typ, corr string, data any, recipients ...string) {
	h.t.Helper()
	raw, _ := json.Marshal(data)
	d := events.Delivery{Recipients: recipients, Event: events.DeliveredEvent{ID: newID(), Type: typ,
		CorrelationID: corr, Time: time.Now().UTC(), Data: raw}}
	ev, err := events.New(newID(), "/parley/functions/test", events.TypeDelivery, recipients[0], d)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.w.Publish(ctx, h.delivery, ev); err != nil {
		h.t.Fatal(err)
	}
}

// commands returns the command events the edge produced, in order.
func (h *harness) commands(ctx context.Context) <-chan event.Event {
	out := make(chan event.Event, 64)
	go func() {
		_ = kafka.Consume(ctx, kafka.ConsumerConfig{Brokers: h.kc.Brokers, Topics: []string{h.broker},
			GroupID: "test-" + newID(), MaxWait: 100 * time.Millisecond},
			func(_ context.Context, m kafka.Message) error {
				ev, err := m.Event()
				if err == nil {
					select {
					case out <- ev:
					case <-ctx.Done():
					}
				}
				return nil
			})
	}()
	return out
}

func readFrame(t testing.TB, c *websocket.Conn) events.Frame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f events.Frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return f
}

// readUntil reads frames until one has type typ.
func readUntil(t testing.TB, c *websocket.Conn, typ string) events.Frame {
	t.Helper()
	for {
		if f := readFrame(t, c); f.Type == typ {
			return f
		}
	}
}

// closeCode reads until the connection closes and returns the close code.
func closeCode(t testing.TB, c *websocket.Conn, within time.Duration) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

func send(t testing.TB, c *websocket.Conn, typ, id string, data any) {
	t.Helper()
	f := map[string]any{"type": typ}
	if id != "" {
		f["id"] = id
	}
	if data != nil {
		f["data"] = data
	}
	if err := c.WriteJSON(f); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func TestHelloFirstAndAuthWays(t *testing.T) {
	h := newHarness(t, nil)
	_, hello := h.dial("u1", "s1")
	if hello.UserID != "u1" || hello.SessionID != "s1" || hello.HeartbeatIntervalS != 5 {
		t.Fatalf("hello = %+v", hello)
	}

	// Subprotocols: parley.v1 is selected, the bearer one never echoed.
	tok := h.tokens.issue("u2", "s2", time.Hour)
	d := websocket.Dialer{Subprotocols: []string{events.SubprotocolV1, events.SubprotocolBearer + tok}}
	c, resp, err := d.Dial(h.url(), nil)
	if err != nil {
		t.Fatalf("subprotocol dial: %v", err)
	}
	defer c.Close()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != events.SubprotocolV1 {
		t.Fatalf("selected subprotocol %q", got)
	}
	if f := readFrame(t, c); f.Type != events.FrameHello {
		t.Fatalf("first frame %q", f.Type)
	}

	// One-use ticket, issued as identity issues them.
	tk, err := auth.NewTickets(h.rdb, h.prefix).Issue(context.Background(),
		auth.Principal{UserID: "u3", SessionID: "s3", ExpiresAt: time.Now().Add(time.Minute), IssuedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c3, _, err := websocket.DefaultDialer.Dial(h.url()+"?ticket="+tk, nil)
	if err != nil {
		t.Fatalf("ticket dial: %v", err)
	}
	defer c3.Close()
	if f := readFrame(t, c3); f.Type != events.FrameHello || !strings.Contains(string(f.Data), `"u3"`) {
		t.Fatalf("ticket hello %s", f.Data)
	}
	_, resp, err = websocket.DefaultDialer.Dial(h.url()+"?ticket="+tk, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused ticket: err %v resp %v", err, resp)
	}
}

func TestUnauthenticatedBeforeUpgrade(t *testing.T) {
	h := newHarness(t, nil)
	expired := h.tokens.issue("u1", "s1", -time.Second)
	for name, hdr := range map[string]http.Header{
		"missing": nil,
		"forged":  {"Authorization": {"Bearer forged.token.value"}},
		"expired": {"Authorization": {"Bearer " + expired}},
	} {
		_, resp, err := websocket.DefaultDialer.Dial(h.url(), hdr)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: want 401 before upgrade, got err %v resp %v", name, err, resp)
		}
	}
}

func TestOriginAllowList(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.tokens.issue("u1", "s1", time.Hour)
	_, resp, err := websocket.DefaultDialer.Dial(h.url(), http.Header{"Authorization": {"Bearer " + tok},
		"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross origin: err %v resp %v", err, resp)
	}
	c, _, err := websocket.DefaultDialer.Dial(h.url(), http.Header{"Authorization": {"Bearer " + tok},
		"Origin": {"https://app.parley.example"}})
	if err != nil {
		t.Fatalf("allowed origin: %v", err)
	}
	c.Close()
}

func TestOversizedFrameCloses1009(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxFrameBytes = 1024 })
	c, _ := h.dial("u1", "s1")
	big := `{"type":"ping","id":"` + strings.Repeat("x", 4096) + `"}`
	if err := c.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, c, 5*time.Second); code != events.CloseTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestFloodCloses4008(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RateLimit = 10; c.RateBurst = 20 })
	c, _ := h.dial("u1", "s1")
	go func() {
		for range 500 {
			if c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
				return
			}
		}
	}()
	if code := closeCode(t, c, 5*time.Second); code != events.CloseRateLimited {
		t.Fatalf("close code %d, want 4008", code)
	}
}

func TestBadFrames(t *testing.T) {
	h := newHarness(t, nil)
	c, _ := h.dial("u1", "s1")
	send(t, c, "ping", "p1", nil)
	if f := readFrame(t, c); f.Type != events.FramePong || f.ID != "p1" {
		t.Fatalf("ping answer %+v", f)
	}
	send(t, c, "frobnicate", "x1", nil)
	f := readFrame(t, c)
	var ef events.ErrorFrame
	_ = json.Unmarshal(f.Data, &ef)
	if f.Type != events.FrameError || f.ID != "x1" || ef.Code != events.CodeInvalidArgument {
		t.Fatalf("unknown type answer %+v", f)
	}
	send(t, c, "send", "x2", map[string]any{"conversation_id": "c1", "client_msg_id": "m1", "type": "text"})
	f = readFrame(t, c)
	_ = json.Unmarshal(f.Data, &ef)
	if f.Type != events.FrameError || f.ID != "x2" || ef.Code != events.CodeInvalidArgument {
		t.Fatalf("invalid send answer %+v", f)
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte("not json {"))
	if code := closeCode(t, c, 5*time.Second); code != events.ClosePolicy {
		t.Fatalf("garbage: close %d, want 1008", code)
	}
}

func TestSendAnsweredByCorrelatedFact(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CommandTimeout = 2 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")
	other, _ := h.dial("u2", "s9")

	send(t, c, "send", "f1", map[string]any{"conversation_id": "c1", "client_msg_id": "m1", "type": "text", "text": "hi"})
	cmd := nextEvent(t, cmds, events.TypeMessageSend)
	corr := events.StringExtension(cmd, events.ExtCorrelationID)
	if cmd.Type() != events.TypeMessageSend || events.PartitionKey(cmd) != "c1" || !strings.HasPrefix(corr, "edge-t/") || !strings.HasSuffix(corr, "/f1") {
		t.Fatalf("command %s key %s corr %s", cmd.Type(), events.PartitionKey(cmd), corr)
	}
	sc, err := events.Decode[events.SendCommand](cmd)
	if err != nil || sc.UserID != "u1" || sc.Text != "hi" {
		t.Fatalf("command data %+v %v", sc, err)
	}
	msg := events.MessageFact{Message: events.Message{ID: "m-1", ConversationID: "c1", Seq: 1, SenderID: "u1",
		ClientMsgID: "m1", Type: "text", Text: "hi", Status: "normal", CreatedAt: time.Now().UTC()}}
	h.deliver(events.TypeMessageCreated, corr, msg, "u1", "u2")
	f := readUntil(t, c, events.FrameResult)
	if f.ID != "f1" || !strings.Contains(string(f.Data), `"m-1"`) {
		t.Fatalf("result %+v %s", f, f.Data)
	}
	if f := readUntil(t, other, events.FrameMessage); !strings.Contains(string(f.Data), `"seq":1`) {
		t.Fatalf("push %s", f.Data)
	}

	// A rejection answers with its code; a frame nobody answers times out as unavailable.
	send(t, c, "revoke", "f2", map[string]any{"message_id": "m-1"})
	cmd = nextEvent(t, cmds, events.TypeMessageRevoke)
	h.deliver(events.TypeCommandRejected, events.StringExtension(cmd, events.ExtCorrelationID),
		events.CommandRejected{CorrelationID: events.StringExtension(cmd, events.ExtCorrelationID), UserID: "u1",
			Code: events.CodeRevokeWindowExpired, Message: "too late"}, "u1")
	f = readUntil(t, c, events.FrameError)
	if f.ID != "f2" || !strings.Contains(string(f.Data), "revoke_window_expired") {
		t.Fatalf("rejection %+v %s", f, f.Data)
	}
	send(t, c, "read", "f3", map[string]any{"conversation_id": "c1", "seq": 1})
	f = readUntil(t, c, events.FrameError)
	if f.ID != "f3" || !strings.Contains(string(f.Data), "unavailable") {
		t.Fatalf("timeout %+v %s", f, f.Data)
	}
}

func TestUnackedPushResentAckedNot(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResendTimeout = 300 * time.Millisecond; c.ResendAttempts = 2 })
	acker, _ := h.dial("u1", "s1")
	lazy, _ := h.dial("u2", "s2")
	msg := events.MessageFact{Message: events.Message{ID: "m-7", ConversationID: "c7", Seq: 7, SenderID: "u3", Type: "text", Text: "x"}}
	h.deliver(events.TypeMessageCreated, "", msg, "u1", "u2")

	readUntil(t, acker, events.FrameMessage)
	send(t, acker, "ack", "", map[string]any{"conversation_id": "c7", "seq": 7})
	// lazy never acks: it gets the push, then ResendAttempts resends, then nothing more.
	for i := 0; i < 3; i++ {
		if f := readUntil(t, lazy, events.FrameMessage); !strings.Contains(string(f.Data), `"m-7"`) {
			t.Fatalf("push %d: %s", i, f.Data)
		}
	}
	_ = lazy.SetReadDeadline(time.Now().Add(time.Second))
	for {
		_, b, err := lazy.ReadMessage()
		if err != nil {
			break
		}
		if strings.Contains(string(b), `"type":"message"`) {
			t.Fatalf("resent after the last attempt: %s", b)
		}
	}
	// The acker got nothing again.
	_ = acker.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		_, b, err := acker.ReadMessage()
		if err != nil {
			break
		}
		if strings.Contains(string(b), `"type":"message"`) {
			t.Fatalf("acked push resent: %s", b)
		}
	}
}

func TestSessionRevokedClosesOnlyThatSession(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.dial("u1", "s1")
	b, _ := h.dial("u1", "s2")
	h.deliver(events.TypeSessionRevoked, "", events.SessionRevoked{UserID: "u1", SessionID: "s1", Reason: "logout"}, "u1")
	readUntil(t, a, events.FrameSessionRevoked)
	if code := closeCode(t, a, 5*time.Second); code != events.CloseUnauthenticated {
		t.Fatalf("revoked session: close %d, want 4001", code)
	}
	send(t, b, "ping", "still", nil)
	if f := readUntil(t, b, events.FramePong); f.ID != "still" {
		t.Fatalf("other session: %+v", f)
	}
	// Without session_id every connection of the user ends.
	h.deliver(events.TypeSessionRevoked, "", events.SessionRevoked{UserID: "u1", Reason: "password_changed"}, "u1")
	if code := closeCode(t, b, 5*time.Second); code != events.CloseUnauthenticated {
		t.Fatalf("all sessions: close %d, want 4001", code)
	}
}

func TestBanCloses4003(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.dial("u1", "s1")
	h.deliver(events.TypeSessionRevoked, "", events.SessionRevoked{UserID: "u1", Reason: "banned"}, "u1")
	if code := closeCode(t, a, 5*time.Second); code != events.CloseBanned {
		t.Fatalf("ban: close %d, want 4003", code)
	}
	d, _ := h.dial("u2", "s2")
	h.deliver(events.TypeUserDeleted, "", events.UserDeleted{UserID: "u2"}, "u2")
	if code := closeCode(t, d, 5*time.Second); code != events.CloseBanned {
		t.Fatalf("deleted: close %d, want 4003", code)
	}
	// A banned user connecting gets 4003 at once.
	tok := h.tokens.issue("banned-1", "s3", time.Hour)
	c, _, err := websocket.DefaultDialer.Dial(h.url(), http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, c, 5*time.Second); code != events.CloseBanned {
		t.Fatalf("banned connect: close %d, want 4003", code)
	}
}

func TestTokenExpiryCloses4001(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.tokens.issue("u1", "s1", 700*time.Millisecond)
	c, _, err := websocket.DefaultDialer.Dial(h.url(), http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, c, 5*time.Second); code != events.CloseUnauthenticated {
		t.Fatalf("expiry: close %d, want 4001", code)
	}
}

func TestSlowConsumerClosed4009OthersUnaffected(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OutboundQueueBytes = 64 << 10 })
	slow, _ := h.dial("slow", "s1")
	fast, _ := h.dial("fast", "s2")
	payload := strings.Repeat("y", 2000)
	var lat []time.Duration
	for i := 0; i < 4000 && h.e.stats.slowClosed.Load() == 0; i++ {
		start := time.Now()
		h.e.Deliver(events.Delivery{Recipients: []string{"slow", "fast"}, Event: events.DeliveredEvent{
			ID: newID(), Type: events.TypeTypingUpdate, Data: json.RawMessage(`{"conversation_id":"c","state":"start","user_id":"` + payload + `"}`)}})
		readUntil(t, fast, events.FrameTypingPush)
		lat = append(lat, time.Since(start))
	}
	if h.e.stats.slowClosed.Load() == 0 {
		t.Fatal("the never-reading client was not closed")
	}
	// The fast client kept its latency while the slow one filled up.
	worst := time.Duration(0)
	for _, l := range lat {
		worst = max(worst, l)
	}
	if worst > 200*time.Millisecond {
		t.Fatalf("fast client's worst latency %v while the slow one stalled", worst)
	}
	if code := closeCode(t, slow, 10*time.Second); code != events.CloseSlowConsumer {
		t.Fatalf("slow: close %d, want 4009", code)
	}
}

func TestDrainSpreads1012(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DrainWindow = time.Second })
	const n = 5
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i], _ = h.dial("u"+string(rune('a'+i)), "")
	}
	type res struct {
		code int
		at   time.Time
	}
	out := make(chan res, n)
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					var ce *websocket.CloseError
					code := 0
					if errors.As(err, &ce) {
						code = ce.Code
					}
					out <- res{code, time.Now()}
					return
				}
			}
		}()
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- h.e.Drain(ctx) }()
	time.Sleep(50 * time.Millisecond)
	// New upgrades are refused while draining.
	tok := h.tokens.issue("late", "", time.Hour)
	if _, resp, err := websocket.DefaultDialer.Dial(h.url(), http.Header{"Authorization": {"Bearer " + tok}}); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade while draining: %v %v", err, resp)
	}
	if h.e.Ready(ctx) == nil {
		t.Fatal("ready while draining")
	}
	var first, last time.Time
	for range n {
		r := <-out
		if r.code != events.CloseServiceRestart {
			t.Fatalf("drain close %d, want 1012", r.code)
		}
		if first.IsZero() || r.at.Before(first) {
			first = r.at
		}
		if r.at.After(last) {
			last = r.at
		}
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	if spread := last.Sub(first); spread < 600*time.Millisecond {
		t.Fatalf("closes spread over %v, want most of the 1s window", spread)
	}
	if last.Sub(start) > 2*time.Second {
		t.Fatalf("drain took %v", last.Sub(start))
	}
}

func TestPresenceLeasesAndRegistry(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	a, _ := h.dial("u1", "s1")
	b, _ := h.dial("u1", "s2")
	polltest.Until(t, 10*time.Second, "two presence leases of u1", func() bool {
		n, _ := h.rdb.ZCard(ctx, h.prefix+"presence:u1").Result()
		return n == 2
	})
	ev := nextEvent(t, cmds, events.TypePresenceChanged)
	if !strings.Contains(string(ev.Data()), `"online":true`) {
		t.Fatalf("presence fact %s %s", ev.Type(), ev.Data())
	}
	edges, err := h.e.LiveEdges(ctx)
	if err != nil || len(edges) != 1 || edges[0] != "edge-t" {
		t.Fatalf("registry %v %v", edges, err)
	}
	a.Close()
	b.Close()
	ev = nextEvent(t, cmds, events.TypePresenceChanged)
	if !strings.Contains(string(ev.Data()), `"online":false`) {
		t.Fatalf("offline fact %s %s", ev.Type(), ev.Data())
	}
	if n, _ := h.rdb.ZCard(ctx, h.prefix+"presence:u1").Result(); n != 0 {
		t.Fatalf("leases left: %d", n)
	}
}

// nextEvent returns the next produced event of type typ, skipping others (presence facts).
func nextEvent(t testing.TB, ch <-chan event.Event, typ string) event.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Type() == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s produced", typ)
		}
	}
}
