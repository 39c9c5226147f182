package annotate_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/annotate"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

func setup(t *testing.T, cfg annotate.Config) (*pgxpool.Pool, *mt.Publisher, *annotate.Handler, http.Handler) {
	t.Helper()
	pool, _ := pgtest.New(t)
	ob, pub := mt.Outbox(pool)
	a := annotate.New(cfg, annotate.Deps{Pool: pool, Outbox: ob, Log: mt.Log()})
	h, err := a.Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	return pool, pub, a, h
}

// message stores a message of sender sent age ago and returns its id.
func message(t *testing.T, pool *pgxpool.Pool, conv, sender, typ string, age time.Duration) string {
	t.Helper()
	id := messaging.NewID()
	if _, err := pool.Exec(context.Background(), `WITH c AS (UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq)
		INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, search_text, payload, created_at)
		SELECT $1, $2, c.last_seq, $3, $1, $4, CASE WHEN $4 = 'text' THEN 'Old Text' ELSE '' END,
		       CASE WHEN $4 = 'text' THEN 'old text' END, CASE WHEN $4 = 'custom' THEN '{}'::json END, $5 FROM c`,
		id, conv, sender, typ, time.Now().Add(-age)); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestEditWritesStateAndFactTogether(t *testing.T) {
	pool, pub, _, h := setup(t, annotate.Config{EditWindow: time.Minute})
	u := mt.Users(t, pool, 3)
	sender, other, stranger := u[0], u[1], u[2]
	conv := mt.Group(t, pool, sender, other)
	id := message(t, pool, conv, sender, "text", 0)
	if _, err := pool.Exec(context.Background(), `INSERT INTO message_reactions (message_id, user_id, key) VALUES ($1, $2, 'ok')`, id, other); err != nil {
		t.Fatal(err)
	}

	var r events.MessageResponse
	if code, body := mt.Do(t, h, sender, "PATCH", "/v1/messages/"+id, `{"text":"New ΤΕΧΤ"}`, &r); code != 200 {
		t.Fatalf("edit: %d %s", code, body)
	}
	if r.Message.Text != "New ΤΕΧΤ" || r.Message.EditedAt == nil || len(r.Message.Reactions) != 1 || r.Message.Reactions[0].Me == nil || *r.Message.Reactions[0].Me {
		t.Fatalf("answer: %+v", r.Message)
	}
	facts := mt.OutboxRows(t, pool, events.TypeMessageEdited)
	if len(facts) != 1 || len(pub.Published(events.TypeMessageEdited)) != 1 {
		t.Fatalf("%d edited facts stored", len(facts))
	}
	f, err := events.Decode[events.MessageFact](facts[0])
	if err != nil || f.Message.Text != "New ΤΕΧΤ" || f.ActorID != sender || f.Message.EditedAt == nil ||
		len(f.Message.Reactions) != 1 || f.Message.Reactions[0].Me != nil || events.PartitionKey(facts[0]) != conv {
		t.Fatalf("fact: %+v %v", f, err)
	}
	var st string
	if err := pool.QueryRow(context.Background(), `SELECT search_text FROM messages WHERE id = $1`, id).Scan(&st); err != nil || st != "new τεχτ" {
		t.Fatalf("search_text %q %v", st, err)
	}

	// The same text: 200, no second fact.
	if code, _ := mt.Do(t, h, sender, "PATCH", "/v1/messages/"+id, `{"text":"New ΤΕΧΤ"}`, nil); code != 200 {
		t.Fatalf("no-op edit: %d", code)
	}
	if n := len(mt.OutboxRows(t, pool, events.TypeMessageEdited)); n != 1 {
		t.Fatalf("no-op edit wrote a fact: %d", n)
	}

	// Refusals write nothing.
	old := message(t, pool, conv, sender, "text", time.Hour)
	card := message(t, pool, conv, sender, "custom", 0)
	for _, c := range []struct {
		user, id, body string
		status         int
		code           events.Code
	}{
		{other, id, `{"text":"x"}`, 403, events.CodeForbidden},
		{stranger, id, `{"text":"x"}`, 404, events.CodeNotFound},
		{sender, "nope", `{"text":"x"}`, 404, events.CodeNotFound},
		{sender, old, `{"text":"x"}`, 409, events.CodeEditWindowExpired},
		{sender, card, `{"text":"x"}`, 400, events.CodeInvalidArgument},
		{sender, id, `{"text":""}`, 400, events.CodeInvalidArgument},
		{sender, id, `{"text":"x","extra":1}`, 400, events.CodeInvalidArgument},
	} {
		code, body := mt.Do(t, h, c.user, "PATCH", "/v1/messages/"+c.id, c.body, nil)
		if code != c.status || !strings.Contains(string(body), `"code":"`+string(c.code)+`"`) {
			t.Errorf("%+v: %d %s", c, code, body)
		}
	}
	if n := len(mt.OutboxRows(t, pool, events.TypeMessageEdited)); n != 1 {
		t.Fatalf("refusals wrote facts: %d", n)
	}
}

// TestReactionKeyCapUnderConcurrency: 30 members add 30 distinct keys at once; exactly 20 win, one
// fact per real change, and the answers' views agree with the stored rows.
func TestReactionKeyCapUnderConcurrency(t *testing.T) {
	pool, _, a, _ := setup(t, annotate.Config{})
	u := mt.Users(t, pool, 30)
	conv := mt.Group(t, pool, u...)
	id := message(t, pool, conv, u[0], "text", 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, capped := 0, 0
	for i := range u {
		wg.Go(func() {
			_, err := a.React(context.Background(), u[i], id, fmt.Sprintf("k%02d", i), events.ReactionAdd)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case events.AsError(err).Code == events.CodeLimitExceeded:
				capped++
			default:
				t.Errorf("react: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 20 || capped != 10 {
		t.Fatalf("%d added, %d capped; want 20 and 10", ok, capped)
	}
	facts := mt.OutboxRows(t, pool, events.TypeReactionChanged)
	if len(facts) != 20 {
		t.Fatalf("%d facts, want 20", len(facts))
	}
	// Each fact carries the reactions its change committed with; the one that made 20 carries all.
	var last events.ReactionChanged
	for _, f := range facts {
		r, err := events.Decode[events.ReactionChanged](f)
		if err != nil || r.Op != events.ReactionAdd || len(r.Reactions) < 1 || len(r.Reactions) > 20 {
			t.Fatalf("fact: %+v %v", r, err)
		}
		if len(r.Reactions) == 20 {
			last = r
		}
	}
	if last.Key == "" {
		t.Fatal("no fact carries the 20 keys")
	}
	// An existing key still takes another user; a repeat and a remove of nothing emit nothing.
	m, err := a.React(context.Background(), u[29], id, last.Key, events.ReactionAdd)
	if err != nil || len(m.Reactions) != 20 {
		t.Fatalf("existing key at the cap: %v", err)
	}
	if _, err := a.React(context.Background(), u[29], id, last.Key, events.ReactionAdd); err != nil {
		t.Fatal(err)
	}
	if _, err := a.React(context.Background(), u[28], id, "never", events.ReactionRemove); err != nil {
		t.Fatal(err)
	}
	if n := len(mt.OutboxRows(t, pool, events.TypeReactionChanged)); n != 21 {
		t.Fatalf("%d facts after a repeat and an empty remove, want 21", n)
	}
}

// TestPinCapUnderConcurrency: 60 pins at once in a conversation with a cap of 50.
func TestPinCapUnderConcurrency(t *testing.T) {
	pool, _, a, h := setup(t, annotate.Config{})
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	ids := make([]string, 60)
	for i := range ids {
		ids[i] = message(t, pool, conv, u[1], "text", 0)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, capped := 0, 0
	for _, id := range ids {
		wg.Go(func() {
			_, err := a.Pin(context.Background(), u[0], conv, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case events.AsError(err).Code == events.CodeLimitExceeded:
				capped++
			default:
				t.Errorf("pin: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 50 || capped != 10 || len(mt.OutboxRows(t, pool, events.TypeConversationPinned)) != 50 {
		t.Fatalf("%d pinned, %d capped", ok, capped)
	}
	var r events.PinsResponse
	if code, _ := mt.Do(t, h, u[1], "GET", "/v1/conversations/"+conv+"/pins", "", &r); code != 200 || len(r.Pins) != 50 {
		t.Fatalf("list: %d %d", code, len(r.Pins))
	}
	for i := 1; i < len(r.Pins); i++ {
		if r.Pins[i].PinnedAt.After(r.Pins[i-1].PinnedAt) {
			t.Fatal("pins not newest first")
		}
	}
	if code, _ := mt.Do(t, h, u[1], "PUT", "/v1/conversations/"+conv+"/pins/"+ids[0], "", nil); code != 403 {
		t.Fatalf("a member pins in a group: %d", code)
	}
}
