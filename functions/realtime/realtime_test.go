package realtime_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/realtime"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// env is one isolated realtime deployment: its own database, Redis prefix and recording publisher.
type env struct {
	pool   *pgxpool.Pool
	rdb    *goredis.Client
	prefix string
	pub    *mt.Publisher
	fn     *realtime.Handler
	h      http.Handler
	seen   int // deliveries already returned by take
}

func newRedis(t *testing.T) (*goredis.Client, string) {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "parley_t_" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

func setup(t *testing.T, cfg realtime.Config) *env {
	t.Helper()
	pool, _ := pgtest.New(t)
	rdb, prefix := newRedis(t)
	cfg.RedisPrefix = prefix
	e := &env{pool: pool, rdb: rdb, prefix: prefix, pub: &mt.Publisher{}}
	e.fn = realtime.New(cfg, realtime.Deps{Pool: pool, Redis: rdb, Publisher: e.pub, Log: mt.Log()})
	var err error
	if e.h, err = e.fn.Mount(context.Background(), serve.Options{Log: mt.Log()}); err != nil {
		t.Fatal(err)
	}
	return e
}

// direct inserts a direct conversation between a and b.
func direct(t *testing.T, pool *pgxpool.Pool, a, b string) string {
	t.Helper()
	ctx := context.Background()
	id := messaging.NewID()
	key := min(a, b) + ":" + max(a, b)
	if _, err := pool.Exec(ctx, `INSERT INTO conversations (id, type, direct_key, members_count) VALUES ($1, 'direct', $2, 2)`, id, key); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role) VALUES ($1, $2, 'member'), ($1, $3, 'member')`, id, a, b); err != nil {
		t.Fatal(err)
	}
	return id
}

func block(t *testing.T, pool *pgxpool.Pool, blocker, blocked string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)`, blocker, blocked); err != nil {
		t.Fatal(err)
	}
}

var frames atomic.Int64

// command builds a command the way the edge does: correlation "<edge>/<conn>/<frame>".
func command(t *testing.T, typ, key, conn string, data events.Validator) event.Event {
	t.Helper()
	e, err := events.New(messaging.NewID(), "/parley/socket-edge/edge-1", typ, key, data)
	if err != nil {
		t.Fatal(err)
	}
	e.SetExtension(events.ExtCorrelationID, "edge-1/"+conn+"/f"+strconv.FormatInt(frames.Add(1), 10))
	return e
}

// post delivers cmd like the trigger and returns the rejection code ("" when accepted).
func (e *env) post(t *testing.T, cmd event.Event) events.Code {
	t.Helper()
	code, reply := mt.PostEvent(t, e.h, cmd)
	if code != http.StatusOK {
		t.Fatalf("%s: status %d", cmd.Type(), code)
	}
	if reply == nil {
		return ""
	}
	if reply.Type() != events.TypeCommandRejected {
		t.Fatalf("reply %s", reply.Type())
	}
	r, err := events.Decode[events.CommandRejected](*reply)
	if err != nil {
		t.Fatal(err)
	}
	corr := events.StringExtension(cmd, events.ExtCorrelationID)
	if r.CorrelationID != corr || events.StringExtension(*reply, events.ExtCorrelationID) != corr {
		t.Fatalf("rejection correlation %q, want %q", r.CorrelationID, corr)
	}
	return r.Code
}

func (e *env) signal(t *testing.T, conn string, s events.CallSignal) events.Code {
	t.Helper()
	return e.post(t, command(t, events.TypeCallSignal, s.CallID, conn, s))
}

// take returns the deliveries published since the last take.
func (e *env) take(t *testing.T) []events.Delivery {
	t.Helper()
	evs := e.pub.Published()
	var out []events.Delivery
	for _, ev := range evs[e.seen:] {
		if ev.Type() != events.TypeDelivery {
			t.Fatalf("published %s", ev.Type())
		}
		d, err := events.Decode[events.Delivery](ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	e.seen = len(evs)
	return out
}

func callOf(t *testing.T, d events.Delivery) events.CallSignal {
	t.Helper()
	if d.Event.Type != events.TypeCallSignal {
		t.Fatalf("delivered %s, want a call signal", d.Event.Type)
	}
	var s events.CallSignal
	if err := json.Unmarshal(d.Event.Data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// expectCall checks that exactly one call delivery was published, of kind, to recipients.
func (e *env) expectCall(t *testing.T, kind string, recipients ...string) (events.Delivery, events.CallSignal) {
	t.Helper()
	ds := e.take(t)
	if len(ds) != 1 {
		t.Fatalf("%s: %d deliveries: %+v", kind, len(ds), ds)
	}
	s := callOf(t, ds[0])
	if s.Kind != kind || !sameSet(ds[0].Recipients, recipients) {
		t.Fatalf("delivered %s to %v, want %s to %v", s.Kind, ds[0].Recipients, kind, recipients)
	}
	return ds[0], s
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestPresenceManyUsersOneRedisPipeline(t *testing.T) {
	e := setup(t, realtime.Config{})
	ctx := context.Background()
	u := mt.Users(t, e.pool, 160)
	viewer := u[0]
	// u[1..50] contacts, u[51..100] share a group with the viewer, u[101..149] strangers,
	// u[150] a contact who blocks the viewer, u[151] a co-member the viewer blocks.
	for _, c := range u[1:51] {
		mt.Contacts(t, e.pool, viewer, c)
	}
	mt.Group(t, e.pool, append([]string{viewer}, u[51:101]...)...)
	mt.Contacts(t, e.pool, viewer, u[150])
	block(t, e.pool, u[150], viewer)
	mt.Group(t, e.pool, viewer, u[151])
	block(t, e.pool, viewer, u[151])

	// Leases the way the edge writes them: even users online (2 devices for u[2]), odd users gone
	// (an expired lease and a last-seen time), strangers and blocked users online too.
	now := time.Now()
	seen := now.Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for i, id := range u {
		var score float64
		if i%2 == 0 || i > 100 {
			score = float64(now.Add(time.Minute).UnixMilli())
		} else {
			score = float64(now.Add(-time.Second).UnixMilli())
		}
		e.rdb.ZAdd(ctx, e.prefix+"presence:"+id, goredis.Z{Score: score, Member: "conn-" + id})
		e.rdb.Set(ctx, e.prefix+"lastseen:"+id, seen.Format(time.RFC3339Nano), 0)
	}
	e.rdb.ZAdd(ctx, e.prefix+"presence:"+u[2], goredis.Z{Score: float64(now.Add(time.Minute).UnixMilli()), Member: "conn-2b"})

	// Count the Redis round trips of the request.
	var single, pipelines atomic.Int64
	var names []string
	e.rdb.AddHook(countHook{single: &single, pipelines: &pipelines, names: &names})

	ids := append(slices.Clone(u[1:]), "no-such-user", u[1]) // a duplicate and an unknown id
	var resp events.PresenceResponse
	code, body := mt.Do(t, e.h, viewer, "GET", "/v1/presence?user_ids="+strings.Join(ids, ","), "", &resp)
	if code != 200 {
		t.Fatalf("presence: %d %s", code, body)
	}
	if single.Load() != 0 || pipelines.Load() != 1 {
		t.Fatalf("redis: %d single commands, %d pipelines; want one pipeline: %v", single.Load(), pipelines.Load(), names)
	}
	if len(resp.Presence) != 160 { // 159 users + the unknown id, duplicate dropped
		t.Fatalf("%d entries", len(resp.Presence))
	}
	for i, p := range resp.Presence {
		if p.UserID != ids[i] {
			t.Fatalf("entry %d is %s, want %s (order kept)", i, p.UserID, ids[i])
		}
		n := i + 1 // index in u
		visible := n <= 100
		switch {
		case !visible:
			if p.Online || p.Devices != 0 || p.LastSeenAt != nil {
				t.Fatalf("hidden user %d shown: %+v", n, p)
			}
		case n%2 == 0:
			want := 1
			if n == 2 {
				want = 2
			}
			if !p.Online || p.Devices != want || p.LastSeenAt == nil || !p.LastSeenAt.Equal(seen) {
				t.Fatalf("online user %d: %+v", n, p)
			}
		default:
			if p.Online || p.Devices != 0 || p.LastSeenAt == nil || !p.LastSeenAt.Equal(seen) {
				t.Fatalf("offline user %d: %+v", n, p)
			}
		}
	}

	// Self is always visible.
	code, _ = mt.Do(t, e.h, u[101], "GET", "/v1/presence?user_ids="+u[101], "", &resp)
	if code != 200 || !resp.Presence[0].Online {
		t.Fatalf("self: %d %+v", code, resp)
	}

	// Bad queries.
	many := make([]string, 201)
	for i := range many {
		many[i] = "u" + strconv.Itoa(i)
	}
	for _, q := range []string{"", "?user_ids=", "?user_ids=,,", "?user_ids=" + strings.Join(many, ","),
		"?user_ids=a%20b", "?user_ids=" + strings.Repeat("x", 65)} {
		code, body := mt.Do(t, e.h, viewer, "GET", "/v1/presence"+q, "", nil)
		if code != 400 || !strings.Contains(string(body), `"invalid_argument"`) {
			t.Fatalf("%q: %d %s", q, code, body)
		}
	}
}

type countHook struct {
	single, pipelines *atomic.Int64
	names             *[]string
}

func (countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() == "hello" { // a new connection's handshake is no round trip of ours
			return next(ctx, cmd)
		}
		h.single.Add(1)
		*h.names = append(*h.names, cmd.Name())
		return next(ctx, cmd)
	}
}
func (h countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if cmds[0].Name() == "client" { // CLIENT SETINFO of a new connection
			return next(ctx, cmds)
		}
		h.pipelines.Add(1)
		*h.names = append(*h.names, "pipeline:"+cmds[0].Name())
		return next(ctx, cmds)
	}
}

func TestTypingReachesOtherMembersOnly(t *testing.T) {
	e := setup(t, realtime.Config{})
	u := mt.Users(t, e.pool, 5)
	group := mt.Group(t, e.pool, u[0], u[1], u[2])

	cmd := events.TypingCommand{UserID: u[1], ConversationID: group, State: events.TypingStart}
	if c := e.post(t, command(t, events.TypeTypingUpdate, group, "conn-1", cmd)); c != "" {
		t.Fatalf("typing refused: %s", c)
	}
	ds := e.take(t)
	if len(ds) != 1 || !sameSet(ds[0].Recipients, []string{u[0], u[2]}) || ds[0].Event.Type != events.TypeTypingUpdate {
		t.Fatalf("deliveries %+v", ds)
	}
	ev := e.pub.Published()[0]
	if events.PartitionKey(ev) != group {
		t.Fatalf("keyed by %q, want the conversation", events.PartitionKey(ev))
	}
	// The push data is what the edge renders as the typing frame.
	var tf events.TypingFrame
	if err := json.Unmarshal(ds[0].Event.Data, &tf); err != nil || tf != (events.TypingFrame{ConversationID: group, State: events.TypingStart, UserID: u[1]}) {
		t.Fatalf("typing data %s: %v", ds[0].Event.Data, err)
	}

	// A stranger: not_found, nothing delivered.
	cmd = events.TypingCommand{UserID: u[3], ConversationID: group, State: events.TypingStart}
	if c := e.post(t, command(t, events.TypeTypingUpdate, group, "conn-3", cmd)); c != events.CodeNotFound {
		t.Fatalf("stranger: %q", c)
	}
	// A blocked direct conversation: blocked.
	dm := direct(t, e.pool, u[3], u[4])
	block(t, e.pool, u[4], u[3])
	cmd = events.TypingCommand{UserID: u[3], ConversationID: dm, State: events.TypingStop}
	if c := e.post(t, command(t, events.TypeTypingUpdate, dm, "conn-3", cmd)); c != events.CodeBlocked {
		t.Fatalf("blocked: %q", c)
	}
	if ds := e.take(t); len(ds) != 0 {
		t.Fatalf("refused typing delivered: %+v", ds)
	}
	// A malformed state is refused (invalid_argument), never relayed.
	bad, _ := json.Marshal(map[string]string{"user_id": u[1], "conversation_id": group, "state": "dancing"})
	if code, reply := mt.PostBinary(t, e.h, command(t, events.TypeTypingUpdate, group, "c", events.TypingCommand{UserID: u[1], ConversationID: group, State: "start"}), bad); code != 200 || reply == nil {
		t.Fatalf("bad state: %d %v", code, reply)
	}
}

func TestCallBetweenMembers(t *testing.T) {
	e := setup(t, realtime.Config{})
	u := mt.Users(t, e.pool, 3)
	a, b, stranger := u[0], u[1], u[2]
	conv := direct(t, e.pool, a, b)

	// invite by to_user_id alone: the direct conversation is found; only b's devices ring.
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "call-1", FromUserID: a, ToUserID: b, SDP: "v=0 early"}); c != "" {
		t.Fatalf("invite: %s", c)
	}
	d, s := e.expectCall(t, "invite", b)
	if s.CallID != "call-1" || s.FromUserID != a || s.ToUserID != b || s.ConversationID != conv || s.SDP != "v=0 early" {
		t.Fatalf("invite data %+v", s)
	}
	if d.Event.Subject != conv {
		t.Fatalf("invite keyed by %q", d.Event.Subject)
	}
	// Only the callee may accept; a stranger learns nothing of the call.
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "accept", CallID: "call-1", FromUserID: a}); c != events.CodeForbidden {
		t.Fatalf("caller accepts: %q", c)
	}
	for _, kind := range []string{"accept", "offer", "hangup"} {
		if c := e.signal(t, "conn-s", events.CallSignal{Kind: kind, CallID: "call-1", FromUserID: stranger}); c != events.CodeNotFound {
			t.Fatalf("stranger %s: %q", kind, c)
		}
	}

	acceptCmd := command(t, events.TypeCallSignal, "call-1", "conn-b", events.CallSignal{Kind: "accept", CallID: "call-1", FromUserID: b})
	if c := e.post(t, acceptCmd); c != "" {
		t.Fatalf("accept: %s", c)
	}
	d, s = e.expectCall(t, "accept", a, b) // b's other devices stop ringing
	if d.ExceptSession != "conn-b" || s.FromUserID != b || s.ConversationID != conv {
		t.Fatalf("accept delivery %+v %+v", d, s)
	}
	acceptID := d.Event.ID
	// Redelivery of the same command: the same delivery again, state unchanged.
	if c := e.post(t, acceptCmd); c != "" {
		t.Fatalf("accept redelivered: %s", c)
	}
	if d, _ = e.expectCall(t, "accept", a, b); d.Event.ID != acceptID {
		t.Fatal("redelivered accept got a new delivery id")
	}
	// A second accept (another device) is too late.
	if c := e.signal(t, "conn-b2", events.CallSignal{Kind: "accept", CallID: "call-1", FromUserID: b}); c != events.CodeConflict {
		t.Fatalf("second accept: %q", c)
	}

	steps := []struct {
		from, to, conn string
		sig            events.CallSignal
	}{
		{a, b, "conn-a", events.CallSignal{Kind: "offer", SDP: "v=0 offer"}},
		{b, a, "conn-b", events.CallSignal{Kind: "answer", SDP: "v=0 answer"}},
		{a, b, "conn-a", events.CallSignal{Kind: "ice", Candidate: json.RawMessage(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}`)}},
		{b, a, "conn-b", events.CallSignal{Kind: "ice", Candidate: json.RawMessage(`{"candidate":"candidate:2"}`)}},
	}
	for _, st := range steps {
		st.sig.CallID, st.sig.FromUserID = "call-1", st.from
		if c := e.signal(t, st.conn, st.sig); c != "" {
			t.Fatalf("%s: %s", st.sig.Kind, c)
		}
		d, s := e.expectCall(t, st.sig.Kind, st.to)
		if d.ExceptSession != "" || s.SDP != st.sig.SDP || string(s.Candidate) != string(st.sig.Candidate) ||
			s.FromUserID != st.from || s.ToUserID != st.to || s.ConversationID != conv {
			t.Fatalf("%s relayed as %+v", st.sig.Kind, s)
		}
	}

	if c := e.signal(t, "conn-b", events.CallSignal{Kind: "hangup", CallID: "call-1", FromUserID: b}); c != "" {
		t.Fatalf("hangup: %s", c)
	}
	e.expectCall(t, "hangup", a, b)
	// After the end: signals are refused, a crossing hangup is accepted silently.
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "ice", CallID: "call-1", FromUserID: a}); c != events.CodeConflict {
		t.Fatalf("ice after hangup: %q", c)
	}
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "hangup", CallID: "call-1", FromUserID: a}); c != "" {
		t.Fatalf("crossing hangup: %q", c)
	}
	if ds := e.take(t); len(ds) != 0 {
		t.Fatalf("delivered after the end: %+v", ds)
	}
	// Unknown call; a reused call id; server-only kinds.
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "offer", CallID: "nope", FromUserID: a}); c != events.CodeNotFound {
		t.Fatalf("unknown call: %q", c)
	}
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "call-1", FromUserID: a, ConversationID: conv}); c != events.CodeConflict {
		t.Fatalf("reused call id: %q", c)
	}
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "timeout", CallID: "call-2", FromUserID: a}); c != events.CodeInvalidArgument {
		t.Fatalf("client timeout: %q", c)
	}
	// The parties are free again: b may call a (by conversation).
	if c := e.signal(t, "conn-b", events.CallSignal{Kind: "invite", CallID: "call-3", FromUserID: b, ConversationID: conv}); c != "" {
		t.Fatalf("new call: %s", c)
	}
	e.expectCall(t, "invite", a)
	// Callee rejects: the caller and the callee's other devices hear it.
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "reject", CallID: "call-3", FromUserID: a}); c != "" {
		t.Fatalf("reject: %s", c)
	}
	e.expectCall(t, "reject", a, b)
}

func TestStrangerInviteRefused(t *testing.T) {
	e := setup(t, realtime.Config{})
	u := mt.Users(t, e.pool, 5)
	a, b, stranger := u[0], u[1], u[2]
	conv := direct(t, e.pool, a, b)
	group := mt.Group(t, e.pool, a, b, u[3])

	cases := []struct {
		name string
		sig  events.CallSignal
		want events.Code
	}{
		{"no shared conversation", events.CallSignal{ToUserID: a}, events.CodeNotFound},
		{"someone else's conversation", events.CallSignal{ConversationID: conv}, events.CodeNotFound},
		{"someone else's conversation and member", events.CallSignal{ConversationID: conv, ToUserID: a}, events.CodeNotFound},
		{"missing conversation", events.CallSignal{ConversationID: "nope"}, events.CodeNotFound},
	}
	for _, c := range cases {
		c.sig.Kind, c.sig.CallID, c.sig.FromUserID = "invite", "call-"+c.name, stranger
		if got := e.signal(t, "conn-s", c.sig); got != c.want {
			t.Fatalf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// Members, but not allowed: a group call needs to_user_id; the callee must be in the
	// conversation; nobody calls themselves; a block refuses.
	member := []struct {
		name string
		sig  events.CallSignal
		want events.Code
	}{
		{"group without callee", events.CallSignal{ConversationID: group}, events.CodeInvalidArgument},
		{"callee outside the group", events.CallSignal{ConversationID: group, ToUserID: u[4]}, events.CodeNotFound},
		{"self", events.CallSignal{ToUserID: a}, events.CodeInvalidArgument},
	}
	for _, c := range member {
		c.sig.Kind, c.sig.CallID, c.sig.FromUserID = "invite", "call-"+c.name, a
		if got := e.signal(t, "conn-a", c.sig); got != c.want {
			t.Fatalf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// An invite naming nobody is refused (the payload fails validation) without being dead-lettered.
	bad, _ := json.Marshal(events.CallSignal{Kind: "invite", CallID: "call-nobody", FromUserID: a})
	if code, reply := mt.PostBinary(t, e.h, command(t, events.TypeCallSignal, "call-nobody", "conn-a", events.CallSignal{Kind: "invite", CallID: "call-nobody", FromUserID: a, ToUserID: b}), bad); code != 200 || reply == nil || reply.Type() != events.TypeCommandRejected {
		t.Fatalf("invite naming nobody: %d %v", code, reply)
	}
	block(t, e.pool, b, a)
	if got := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "call-blocked", FromUserID: a, ConversationID: group, ToUserID: b}); got != events.CodeBlocked {
		t.Fatalf("blocked: %q", got)
	}
	if ds := e.take(t); len(ds) != 0 {
		t.Fatalf("refused invites delivered: %+v", ds)
	}
	// A group call to one member works.
	if got := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "call-g", FromUserID: a, ConversationID: group, ToUserID: u[3]}); got != "" {
		t.Fatalf("group invite: %q", got)
	}
	e.expectCall(t, "invite", u[3])
}

func TestUnansweredInviteTimesOut(t *testing.T) {
	cfg := realtime.Config{RingTimeout: 300 * time.Millisecond, SweepInterval: 20 * time.Millisecond}
	e := setup(t, cfg)
	u := mt.Users(t, e.pool, 2)
	a, b := u[0], u[1]
	conv := direct(t, e.pool, a, b)
	// Two instances sweep the same Redis: the timeout is delivered once.
	other := realtime.New(realtime.Config{RedisPrefix: e.prefix, RingTimeout: cfg.RingTimeout, SweepInterval: cfg.SweepInterval},
		realtime.Deps{Pool: e.pool, Redis: e.rdb, Publisher: e.pub, Log: mt.Log()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.fn.Run(ctx)
	go other.Run(ctx)

	start := time.Now()
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "ring", FromUserID: a, ConversationID: conv}); c != "" {
		t.Fatalf("invite: %s", c)
	}
	e.expectCall(t, "invite", b)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.pub.Published()) == e.seen {
		if time.Now().After(deadline) {
			t.Fatal("no call.timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if el := time.Since(start); el < cfg.RingTimeout {
		t.Fatalf("timed out after %s", el)
	}
	time.Sleep(150 * time.Millisecond) // let a duplicate show if there is one
	_, s := e.expectCall(t, "timeout", a, b)
	if s.CallID != "ring" || s.FromUserID != a || s.ToUserID != b || s.ConversationID != conv {
		t.Fatalf("timeout data %+v", s)
	}
	// The call is over: a late accept is refused, and both may call again.
	if c := e.signal(t, "conn-b", events.CallSignal{Kind: "accept", CallID: "ring", FromUserID: b}); c != events.CodeConflict {
		t.Fatalf("late accept: %q", c)
	}
	if c := e.signal(t, "conn-b", events.CallSignal{Kind: "invite", CallID: "ring-2", FromUserID: b, ToUserID: a}); c != "" {
		t.Fatalf("call after timeout: %q", c)
	}
	e.expectCall(t, "invite", a)
	// An accepted call never times out.
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "accept", CallID: "ring-2", FromUserID: a}); c != "" {
		t.Fatalf("accept: %q", c)
	}
	e.expectCall(t, "accept", b, a)
	time.Sleep(2 * cfg.RingTimeout)
	if ds := e.take(t); len(ds) != 0 {
		t.Fatalf("accepted call timed out: %+v", ds)
	}
}

func TestTimeoutDeliveredAfterPublishFailure(t *testing.T) {
	e := setup(t, realtime.Config{RingTimeout: 50 * time.Millisecond, TimeoutLease: 100 * time.Millisecond})
	u := mt.Users(t, e.pool, 2)
	conv := direct(t, e.pool, u[0], u[1])
	if c := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "c", FromUserID: u[0], ConversationID: conv}); c != "" {
		t.Fatal(c)
	}
	e.take(t)
	time.Sleep(60 * time.Millisecond)
	e.pub.Fail = context.DeadlineExceeded
	if _, err := e.fn.ExpireRings(context.Background()); err == nil {
		t.Fatal("publish failure not reported")
	}
	e.pub.Fail = nil
	if n, err := e.fn.ExpireRings(context.Background()); n != 0 || err != nil {
		t.Fatalf("re-claimed within the lease: %d %v", n, err)
	}
	time.Sleep(120 * time.Millisecond)
	if n, err := e.fn.ExpireRings(context.Background()); n != 1 || err != nil {
		t.Fatalf("after the lease: %d %v", n, err)
	}
	e.expectCall(t, "timeout", u[0], u[1])
	if n, _ := e.fn.ExpireRings(context.Background()); n != 0 {
		t.Fatalf("delivered again: %d", n)
	}
}

func TestBusy(t *testing.T) {
	e := setup(t, realtime.Config{})
	u := mt.Users(t, e.pool, 3)
	a, b, c := u[0], u[1], u[2]
	ab := direct(t, e.pool, a, b)
	cb := direct(t, e.pool, c, b)
	ac := direct(t, e.pool, a, c)

	if x := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "ab", FromUserID: a, ConversationID: ab}); x != "" {
		t.Fatal(x)
	}
	e.expectCall(t, "invite", b)
	// b is ringing: c's call gets call.busy (from b), b hears nothing.
	if x := e.signal(t, "conn-c", events.CallSignal{Kind: "invite", CallID: "cb-1", FromUserID: c, ConversationID: cb}); x != "" {
		t.Fatalf("busy invite answered %q; want call.busy delivered", x)
	}
	_, s := e.expectCall(t, "busy", c)
	if s.CallID != "cb-1" || s.FromUserID != b || s.ToUserID != c {
		t.Fatalf("busy data %+v", s)
	}
	if x := e.signal(t, "conn-b", events.CallSignal{Kind: "accept", CallID: "ab", FromUserID: b}); x != "" {
		t.Fatal(x)
	}
	e.expectCall(t, "accept", a, b)
	// b is in a call: busy again; the busy call is over, signals for it are refused.
	if x := e.signal(t, "conn-c", events.CallSignal{Kind: "invite", CallID: "cb-2", FromUserID: c, ToUserID: b}); x != "" {
		t.Fatal(x)
	}
	e.expectCall(t, "busy", c)
	if x := e.signal(t, "conn-c", events.CallSignal{Kind: "offer", CallID: "cb-2", FromUserID: c}); x != events.CodeConflict {
		t.Fatalf("offer on a busy call: %q", x)
	}
	// a, in the call with b, calls c: the call with b ends (b hears hangup) and c rings.
	if x := e.signal(t, "conn-a", events.CallSignal{Kind: "invite", CallID: "ac", FromUserID: a, ConversationID: ac}); x != "" {
		t.Fatal(x)
	}
	ds := e.take(t)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries: %+v", len(ds), ds)
	}
	if s := callOf(t, ds[0]); s.Kind != "hangup" || s.CallID != "ab" || !sameSet(ds[0].Recipients, []string{a, b}) || ds[0].ExceptSession != "conn-a" {
		t.Fatalf("old call end: %+v %+v", ds[0], s)
	}
	if s := callOf(t, ds[1]); s.Kind != "invite" || s.CallID != "ac" || !sameSet(ds[1].Recipients, []string{c}) {
		t.Fatalf("new invite: %+v %+v", ds[1], s)
	}
	// b is free again.
	if x := e.signal(t, "conn-b", events.CallSignal{Kind: "hangup", CallID: "ab", FromUserID: b}); x != "" {
		t.Fatalf("hangup of the replaced call: %q", x)
	}
	if x := e.signal(t, "conn-c", events.CallSignal{Kind: "hangup", CallID: "ac", FromUserID: c}); x != "" {
		t.Fatal(x)
	}
	e.expectCall(t, "hangup", a, c)
	if x := e.signal(t, "conn-c", events.CallSignal{Kind: "invite", CallID: "cb-3", FromUserID: c, ToUserID: b}); x != "" {
		t.Fatal(x)
	}
	e.expectCall(t, "invite", b)
}

func TestICEServers(t *testing.T) {
	servers, err := realtime.ParseICEServers("stun:stun.example.org:3478, turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349")
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 2 || len(servers[1].URLs) != 2 {
		t.Fatalf("parsed %+v", servers)
	}
	secret := []byte("s3cret")
	e := setup(t, realtime.Config{ICEServers: servers, TURNSecret: secret, TURNTTL: time.Hour})
	before := time.Now()
	var resp events.ICEServersResponse
	code, body := mt.Do(t, e.h, "user-1", "GET", "/v1/calls/ice-servers", "", &resp)
	if code != 200 || len(resp.ICEServers) != 2 {
		t.Fatalf("%d %s", code, body)
	}
	if s := resp.ICEServers[0]; s.URLs[0] != "stun:stun.example.org:3478" || s.Username != "" || s.Credential != "" {
		t.Fatalf("stun %+v", s)
	}
	turn := resp.ICEServers[1]
	exp, user, ok := strings.Cut(turn.Username, ":")
	if !ok || user != "user-1" {
		t.Fatalf("turn username %q", turn.Username)
	}
	sec, _ := strconv.ParseInt(exp, 10, 64)
	if d := time.Unix(sec, 0).Sub(before); d < time.Hour-time.Second || d > time.Hour+time.Minute {
		t.Fatalf("credential lifetime %s", d)
	}
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(turn.Username))
	if turn.Credential != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("credential %q is not base64(HMAC-SHA1(secret, username))", turn.Credential)
	}

	// JSON configuration with static credentials; no secret.
	servers, err = realtime.ParseICEServers(`[{"urls":["turn:t.example:3478"],"username":"u","credential":"p"},{"urls":["stun:s.example"]}]`)
	if err != nil {
		t.Fatal(err)
	}
	static := realtime.New(realtime.Config{ICEServers: servers}, realtime.Deps{Log: mt.Log()})
	if got := static.ICEServers("x", time.Now()); got[0].Username != "u" || got[0].Credential != "p" {
		t.Fatalf("static %+v", got)
	}
	for _, bad := range []string{`[{"urls":[]}]`, "http://x", `[{`} {
		if _, err := realtime.ParseICEServers(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
