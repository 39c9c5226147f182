package search_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/search"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// put stores a text message as send does (search_text folded in Go), created at `at`.
func put(t *testing.T, pool *pgxpool.Pool, conv, sender, text string, at time.Time) string {
	t.Helper()
	id := messaging.NewID()
	if _, err := pool.Exec(context.Background(), `WITH c AS (UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq)
		INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, search_text, created_at)
		SELECT $1, $2, c.last_seq, $3, $1, 'text', $4, $5, $6 FROM c`, id, conv, sender, text, messaging.SearchText(text), at); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSearchRules(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	s := search.New(search.Config{}, search.Deps{Pool: pool, Log: mt.Log()})
	u := mt.Users(t, pool, 2)
	me, other := u[0], u[1]
	mine := mt.Group(t, pool, me, other)
	theirs := mt.Group(t, pool, other)
	at := time.Now().Add(-time.Hour)
	next := func() time.Time { at = at.Add(time.Second); return at }
	cjk := put(t, pool, mine, other, "大家你好啊", next())
	put(t, pool, theirs, other, "你好 from elsewhere", next())
	latin := put(t, pool, mine, me, "Say HELLO to ſam", next())
	pct := put(t, pool, mine, me, "50% off", next())
	put(t, pool, mine, me, "50 percent off", next())
	under := put(t, pool, mine, me, "snake_case", next())
	put(t, pool, mine, me, "snakeXcase", next())

	find := func(q search.Query) []string {
		t.Helper()
		msgs, _, err := s.Search(ctx, me, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		var ids []string
		for _, m := range msgs {
			ids = append(ids, m.ID)
		}
		return ids
	}
	for q, want := range map[string][]string{
		"你好":         {cjk},
		"hello":      {latin},
		"SAM":        {latin}, // ſ folds with s
		"0% ":        {pct},
		"e_c":        {under},
		"  hello  ":  {latin},
		"nothing at": nil,
	} {
		if got := find(search.Query{Q: q}); !slices.Equal(got, want) {
			t.Errorf("q=%q: %v, want %v", q, got, want)
		}
	}
	// Revoked (search_text cleared, as revoke does) never matches; an edit matches by its new text only.
	if _, err := pool.Exec(ctx, `UPDATE messages SET status = 'revoked', text = '', search_text = NULL WHERE id = $1`, cjk); err != nil {
		t.Fatal(err)
	}
	if got := find(search.Query{Q: "你好"}); len(got) != 0 {
		t.Errorf("revoked found: %v", got)
	}
	// Stranger: a conversation the caller is not in is 404, and a bad cursor 400.
	_, _, err := s.Search(ctx, me, search.Query{Q: "你好", ConversationID: theirs})
	if events.AsError(err).Code != events.CodeNotFound {
		t.Errorf("stranger conversation_id: %v", err)
	}
	_, _, err = s.Search(ctx, me, search.Query{Q: "你好", Before: "not-a-message"})
	if e := events.AsError(err); e.Code != events.CodeInvalidArgument || e.Field != "before" {
		t.Errorf("bad before: %v", err)
	}
	for _, q := range []string{"a", " a ", strings.Repeat("x", 101), ""} {
		_, _, err := s.Search(ctx, me, search.Query{Q: q})
		if e := events.AsError(err); e.Code != events.CodeInvalidArgument || e.Field != "q" {
			t.Errorf("q=%q: %v", q, err)
		}
	}
	// Paging with before, newest first; ties on created_at broken by id.
	var want []string
	same := next()
	for range 5 {
		want = append(want, put(t, pool, mine, other, "page me", same))
	}
	slices.Reverse(want)
	var got []string
	before := ""
	for {
		msgs, more, err := s.Search(ctx, me, search.Query{Q: "page", Before: before, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, m.ID)
		}
		if !more {
			break
		}
		before = msgs[len(msgs)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}

	// Over HTTP: limit validated, the answer is a MessagesResponse.
	h, err := s.Mount(ctx, serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	var r events.MessagesResponse
	if code, body := mt.Do(t, h, me, "GET", "/v1/search/messages?q=hello&limit=5", "", &r); code != 200 || len(r.Messages) != 1 || r.Messages[0].ID != latin {
		t.Fatalf("http: %d %s", code, body)
	}
	if code, _ := mt.Do(t, h, me, "GET", "/v1/search/messages?q=hello&limit=0", "", nil); code != 400 {
		t.Fatalf("limit 0: %d", code)
	}
}
