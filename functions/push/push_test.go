package push_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/sealing"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/push"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// env is one push function over its own database and Redis prefix, with the Web Push stand-in.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	rdb    *goredis.Client
	prefix string
	h      http.Handler
	ps     *pushService
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

func newEnv(t *testing.T, cfg push.Config, extra map[string]push.Provider) *env {
	t.Helper()
	pool, _ := pgtest.New(t)
	rdb, prefix := newRedis(t)
	ps := newPushService(t)
	kek, err := sealing.New([]byte("test key-encryption key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := push.LoadVAPIDKey(context.Background(), pool, kek)
	if err != nil {
		t.Fatal(err)
	}
	ps.vapid = key.Public
	wp, err := push.NewWebPush(key, "mailto:ops@parley.example", ps.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	providers := map[string]push.Provider{events.PlatformWebPush: wp}
	for k, v := range extra {
		providers[k] = v
	}
	cfg.RedisPrefix = prefix
	cfg.Retry = push.Retry{Attempts: 3, Backoff: 50 * time.Millisecond, MaxWait: 3 * time.Second}
	fn, err := push.New(cfg, push.Deps{Pool: pool, Redis: rdb, VAPID: key, Providers: providers, Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := fn.Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, pool: pool, rdb: rdb, prefix: prefix, h: h, ps: ps}
}

// subscribe registers a Web Push device for user whose endpoint is the stand-in's /push/<sub>.
func (e *env) subscribe(user, sub string) {
	e.t.Helper()
	s := newSubscription(e.t)
	e.ps.add(sub, s)
	if code, body := mt.Do(e.t, e.h, user, "POST", "/v1/push/devices", s.body("dev-"+sub, e.ps.endpoint(sub)), nil); code != 201 {
		e.t.Fatalf("subscribe %s: %d %s", sub, code, body)
	}
}

// connect gives user a live presence lease, as a socket-edge holding a connection of theirs does.
func (e *env) connect(user string) {
	e.t.Helper()
	exp := float64(time.Now().Add(time.Minute).UnixMilli())
	if err := e.rdb.ZAdd(context.Background(), e.prefix+"presence:"+user, goredis.Z{Score: exp, Member: "conn-1"}).Err(); err != nil {
		e.t.Fatal(err)
	}
}

// created is the im.message.created fact of m.
func created(t *testing.T, m events.Message) event.Event {
	t.Helper()
	ev, err := events.New(messaging.NewID(), "/parley/send", events.TypeMessageCreated, m.ConversationID, events.MessageFact{Message: m})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (e *env) deliver(m events.Message) {
	e.t.Helper()
	if code, _ := mt.PostEvent(e.t, e.h, created(e.t, m)); code != 200 {
		e.t.Fatalf("im.message.created: %d", code)
	}
}

func message(conv, sender string, seq int64) events.Message {
	return events.Message{ID: messaging.NewID(), ConversationID: conv, Seq: seq, SenderID: sender, ClientMsgID: fmt.Sprint("c", seq),
		Type: events.MessageText, Text: "hello there", Status: events.StatusNormal, CreatedAt: time.Now().UTC()}
}

func subsOf(got []received) []string {
	var out []string
	for _, r := range got {
		out = append(out, r.Sub)
	}
	slices.Sort(out)
	return out
}

// The rules of API.md "Push", end to end through Web Push with real crypto on both sides: offline
// members get it, the sender and online members do not, a muted member only when mentioned
// (mentions or mention_all), system messages never; a gone subscription is deleted; a redelivered
// fact pushes nothing twice; a 429 with Retry-After is retried after it.
func TestPushRules(t *testing.T) {
	e := newEnv(t, push.Config{}, nil)
	u := mt.Users(t, e.pool, 6)
	sender, offline, online, muted, mutedMentioned, goneUser := u[0], u[1], u[2], u[3], u[4], u[5]
	conv := mt.Group(t, e.pool, u...)
	for i, user := range u {
		e.subscribe(user, fmt.Sprint("s", i))
	}
	e.subscribe(goneUser, "gone-5")
	e.connect(online)
	e.connect(sender)
	if _, err := e.pool.Exec(context.Background(), `UPDATE conversation_members SET muted_until = now() + interval '1 hour'
		WHERE conversation_id = $1 AND user_id = ANY($2)`, conv, []string{muted, mutedMentioned}); err != nil {
		t.Fatal(err)
	}
	// A mute that has lapsed does not count.
	if _, err := e.pool.Exec(context.Background(), `UPDATE conversation_members SET muted_until = now() - interval '1 second'
		WHERE conversation_id = $1 AND user_id = $2`, conv, offline); err != nil {
		t.Fatal(err)
	}

	m := message(conv, sender, 1)
	m.Mentions = []string{mutedMentioned}
	e.deliver(m)
	got := e.ps.take()
	if want := []string{"s1", "s4", "s5"}; !slices.Equal(subsOf(got), want) {
		t.Fatalf("pushed to %v, want %v (offline, muted+mentioned, the gone user's live device)", subsOf(got), want)
	}
	for _, r := range got {
		mentioned := r.Sub == "s4"
		wantUrgency := map[bool]string{true: "high", false: "normal"}[mentioned]
		want := events.PushMessage{V: 1, Type: "message", ConversationID: conv, ConversationType: "group", MessageID: m.ID,
			Seq: 1, SenderID: sender, Mentioned: mentioned}
		if r.Message != want || r.Urgency != wantUrgency || r.TTL != "86400" {
			t.Errorf("%s got %+v urgency %s ttl %s, want %+v urgency %s ttl 86400 (no content by default)",
				r.Sub, r.Message, r.Urgency, r.TTL, want, wantUrgency)
		}
	}
	var devices []string
	rows, _ := e.pool.Query(context.Background(), `SELECT device_id FROM push_devices WHERE user_id = $1 ORDER BY device_id`, goneUser)
	for rows.Next() {
		var d string
		_ = rows.Scan(&d)
		devices = append(devices, d)
	}
	if !slices.Equal(devices, []string{"dev-s5"}) {
		t.Fatalf("the gone device was not deleted: %v", devices)
	}

	// The same fact again (at-least-once delivery): nothing is pushed twice.
	if code, _ := mt.PostEvent(t, e.h, created(t, m)); code != 200 {
		t.Fatal("redelivery failed")
	}
	if got := e.ps.take(); len(got) != 0 {
		t.Fatalf("redelivery pushed again: %v", subsOf(got))
	}

	// mention_all reaches every muted member; a system message reaches nobody.
	m2 := message(conv, sender, 2)
	m2.MentionAll = true
	e.deliver(m2)
	if got := subsOf(e.ps.take()); !slices.Equal(got, []string{"s1", "s3", "s4", "s5"}) {
		t.Fatalf("mention_all pushed to %v", got)
	}
	sys := message(conv, sender, 3)
	sys.Type = events.MessageSystem
	e.deliver(sys)
	if got := e.ps.take(); len(got) != 0 {
		t.Fatalf("a system message was pushed: %v", subsOf(got))
	}

	// A lease that lapsed is offline again.
	exp := strconv.FormatInt(time.Now().Add(-time.Second).UnixMilli(), 10)
	e.rdb.ZAdd(context.Background(), e.prefix+"presence:"+online, goredis.Z{Score: mustFloat(exp), Member: "conn-1"})
	e.deliver(message(conv, sender, 4))
	if got := subsOf(e.ps.take()); !slices.Equal(got, []string{"s1", "s2", "s5"}) {
		t.Fatalf("after the lease lapsed: %v", got)
	}
}

func mustFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// A 429 with Retry-After is retried after the delay it names, within the same event.
func TestPushHonoursRetryAfter(t *testing.T) {
	e := newEnv(t, push.Config{IncludeContent: true}, nil)
	u := mt.Users(t, e.pool, 2)
	conv := mt.Group(t, e.pool, u...)
	e.subscribe(u[1], "flaky-1")
	start := time.Now()
	m := message(conv, u[0], 1)
	m.Text = "ünïcödé 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	e.deliver(m)
	got := e.ps.take()
	if len(got) != 1 || time.Since(start) < time.Second {
		t.Fatalf("got %d pushes after %v; want 1 after the 1 s Retry-After", len(got), time.Since(start))
	}
	// PUSH_INCLUDE_CONTENT: the group's title and the first 100 code points of the text.
	if r := got[0].Message; r.Title != "g" || r.Body != string([]rune(m.Text)[:100]) {
		t.Fatalf("content: %+v", r)
	}
}
