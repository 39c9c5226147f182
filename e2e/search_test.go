//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/check"
	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// TestSearch: substring search in every script, case-insensitive, % and _ literal, only the caller's
// current conversations, never revoked or pre-edit text, newest first with before-paging.
func TestSearch(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, stranger := newUser(t), newUser(t), newUser(t)
	g1 := group(t, a, b).ID
	g2 := group(t, a).ID
	theirs := group(t, stranger).ID
	tag := randHex(4) // keeps this run's texts apart from other tests' messages of these users
	send := func(u *user, conv, s string) events.Message {
		t.Helper()
		m, err := u.SendMessage(ctx, conv, text(s))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cjk := send(b, g1, "大家你好啊 "+tag)
	latin := send(a, g2, "Hello WORLD "+tag)
	greek := send(a, g1, "ΣΊΣΥΦΟΣ "+tag)
	pct := send(a, g1, "100% sure "+tag)
	send(a, g1, "100 percent sure "+tag)
	under := send(a, g1, "a_b "+tag)
	send(a, g1, "axb "+tag)
	send(stranger, theirs, "大家你好啊 stranger "+tag)

	ids := func(q client.SearchQuery, as *user) []string {
		t.Helper()
		r, err := as.Search(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		var out []string
		for _, m := range r.Messages {
			if strings.HasSuffix(m.Text, tag) || strings.Contains(m.Text, tag) {
				out = append(out, m.ID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"你好", []string{cjk.ID}},            // no word splitting
		{" 你好 ", []string{cjk.ID}},          // trimmed
		{"hello world", []string{latin.ID}}, // case folding, across conversations
		{"WoRlD " + tag, []string{latin.ID}},
		{"σίσυφος", []string{greek.ID}},      // final sigma folds like Σ
		{"0% sure " + tag, []string{pct.ID}}, // % literal
		{"a_b " + tag, []string{under.ID}},   // _ literal
	} {
		if got := ids(client.SearchQuery{Q: tc.q}, a); !slices.Equal(got, tc.want) {
			t.Errorf("q=%q: %v, want %v", tc.q, got, tc.want)
		}
	}
	// conversation_id narrows; a stranger's conversation is 404; a stranger never sees ours.
	if got := ids(client.SearchQuery{Q: "hello", ConversationID: g1}, a); len(got) != 0 {
		t.Errorf("narrowed to g1: %v", got)
	}
	_, err := a.Search(ctx, client.SearchQuery{Q: "你好", ConversationID: theirs})
	expectCode(t, "search a stranger's conversation", err, events.CodeNotFound)
	if got := ids(client.SearchQuery{Q: "你好"}, stranger); len(got) != 1 || got[0] == cjk.ID {
		t.Errorf("stranger's search: %v", got)
	}
	for _, q := range []string{"x", " x ", strings.Repeat("y", 101)} {
		_, err := a.Search(ctx, client.SearchQuery{Q: q})
		expectCode(t, fmt.Sprintf("q %q", q), err, events.CodeInvalidArgument)
	}
	_, err = a.Search(ctx, client.SearchQuery{Q: "hello", Limit: 101})
	expectCode(t, "limit 101", err, events.CodeInvalidArgument)

	// Revoked: never found. Edited: by the new text only.
	if _, err := b.Revoke(ctx, cjk.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(client.SearchQuery{Q: "你好"}, a); len(got) != 0 {
		t.Errorf("revoked message found: %v", got)
	}
	ed := send(a, g1, "apricot "+tag)
	if _, err := a.EditMessage(ctx, ed.ID, "banana "+tag); err != nil {
		t.Fatal(err)
	}
	if got := ids(client.SearchQuery{Q: "apricot"}, b); len(got) != 0 {
		t.Errorf("pre-edit text found: %v", got)
	}
	if got := ids(client.SearchQuery{Q: "banana"}, b); !slices.Equal(got, []string{ed.ID}) {
		t.Errorf("edited text: %v", got)
	}

	// Paging: newest first, before = the last id of the previous page.
	var sent []string
	for i := range 5 {
		sent = append(sent, send(b, g1, fmt.Sprintf("page-%s %d", tag, i)).ID)
	}
	slices.Reverse(sent)
	var got []string
	before := ""
	for page := 0; ; page++ {
		r, err := a.Search(ctx, client.SearchQuery{Q: "page-" + tag, Limit: 2, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			got = append(got, m.ID)
		}
		if !r.HasMore {
			break
		}
		if page > 5 || len(r.Messages) == 0 {
			t.Fatalf("paging does not end: %+v", r)
		}
		before = r.Messages[len(r.Messages)-1].ID
	}
	if !slices.Equal(got, sent) {
		t.Fatalf("pages %v, want %v", got, sent)
	}
	// A member who leaves no longer finds the conversation's messages.
	if err := b.RemoveMember(ctx, g1, b.UserID()); err != nil {
		t.Fatal(err)
	}
	if got := ids(client.SearchQuery{Q: "page-" + tag}, b); len(got) != 0 {
		t.Errorf("search after leaving: %v", got)
	}
}

// TestNothingLostWithEditsAndReactions: members on both edges send over HTTP and WebSocket while
// edits and reactions flow on the same messages; the nothing-lost check passes, with every edit's last
// text in every history and pushed to every connection, and reaction counts as the calls left them.
func TestNothingLostWithEditsAndReactions(t *testing.T) {
	ctx := timeout(t, 2*time.Minute)
	us := []*user{newUser(t), newUser(t), newUser(t)}
	conv := group(t, us[0], us[1:]...)
	l := check.NewLedger()
	conns := make([]*client.Conn, len(us))
	for i, u := range us {
		conns[i] = u.dial(t, i)
		l.Watch(u.UserID(), fmt.Sprintf("%s/edge%d", u.name, i%len(sys.edges)), conns[i])
	}
	const perUser = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		reacted  = map[string]map[string]bool{} // message id -> user ids reacting with "ok"
		errs     = make(chan error, len(us)*perUser*3)
		acked    = make(chan events.Message, len(us)*perUser)
		allAcked []events.Message
	)
	for i, u := range us {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perUser {
				body := text(fmt.Sprintf("%s #%d", u.name, n))
				m, err := sendRetrying(ctx, func() (events.Message, error) {
					if (i+n)%2 == 0 {
						return u.SendMessage(ctx, conv.ID, body)
					}
					return conns[i].SendMessage(ctx, conv.ID, body)
				})
				if err != nil {
					errs <- fmt.Errorf("%s send %d: %w", u.name, n, err)
					return
				}
				l.Acked(conv.ID, body.ClientMsgID, m)
				acked <- m
				// Edit every other own message, twice; the ledger keeps the latest answer.
				if n%2 == 0 {
					for k := range 2 {
						e, err := u.EditMessage(ctx, m.ID, fmt.Sprintf("%s #%d edit %d", u.name, n, k))
						if err != nil {
							errs <- fmt.Errorf("%s edit: %w", u.name, err)
							return
						}
						l.Edited(e)
					}
				}
			}
		}()
	}
	// Reactions from everyone on whatever has been acked so far, added and sometimes removed.
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for range len(us) * perUser {
			var m events.Message
			select {
			case m = <-acked:
			case <-ctx.Done():
				return
			}
			allAcked = append(allAcked, m)
			target := allAcked[rng.IntN(len(allAcked))]
			u := us[rng.IntN(len(us))]
			mu.Lock()
			if reacted[target.ID] == nil {
				reacted[target.ID] = map[string]bool{}
			}
			on := !reacted[target.ID][u.UserID()]
			reacted[target.ID][u.UserID()] = on
			mu.Unlock()
			var err error
			if on {
				_, err = u.React(ctx, target.ID, "ok")
			} else {
				_, err = u.Unreact(ctx, target.ID, "ok")
			}
			if err != nil {
				errs <- fmt.Errorf("reaction: %w", err)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	awaitPushes(t, ctx, l, len(us)*perUser, us, conns)
	// Edits are pushed after their messages; give the last ones a moment to arrive before checking.
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep, err := check.NothingLost(timeout(t, time.Minute), l, members(us...), check.Options{PushRequired: true})
		if err == nil {
			t.Logf("nothing-lost: %d acked, %d pushes, %d edited", rep.Acked, rep.Pushes, rep.Edited)
			if rep.Edited != len(us)*perUser/2 {
				t.Fatalf("%d messages edited, want %d", rep.Edited, len(us)*perUser/2)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing-lost check: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Reactions as the calls left them, in every member's history.
	for _, u := range us {
		hist, err := u.AllHistory(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range hist {
			want := 0
			for _, on := range reacted[m.ID] {
				if on {
					want++
				}
			}
			got := 0
			if len(m.Reactions) == 1 && m.Reactions[0].Key == "ok" {
				got = m.Reactions[0].Count
			}
			if got != want || len(m.Reactions) > 1 {
				t.Fatalf("%s sees %+v on %s, want ok x%d", u.name, m.Reactions, m.ID, want)
			}
		}
	}
}
