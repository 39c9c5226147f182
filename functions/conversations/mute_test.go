package conversations_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/send"
)

// Mute is the caller's own: it shows in their list while in the future, null or a past time
// unmutes, an absent field leaves it, strangers get 404, and nothing is emitted.
func TestMuteSettings(t *testing.T) {
	e := newEnv(t, send.Config{})
	u := messagingtest.Users(t, e.pool, 3)
	owner, bob, stranger := u[0], u[1], u[2]
	var cr events.ConversationResponse
	if code := e.do(owner, "POST", "/v1/conversations", fmt.Sprintf(`{"type":"group","title":"t","member_ids":[%q]}`, bob), &cr); code != 201 {
		t.Fatalf("create: %d", code)
	}
	conv := cr.Conversation.ID
	path := "/v1/conversations/" + conv + "/settings"
	facts := len(e.pub.Published())

	listed := func(user string) *time.Time {
		t.Helper()
		var l events.ConversationsResponse
		if code := e.do(user, "GET", "/v1/conversations", "", &l); code != 200 || len(l.Conversations) != 1 {
			t.Fatalf("list: %d %+v", code, l)
		}
		return l.Conversations[0].MutedUntil
	}
	set := func(body string, want *time.Time) {
		t.Helper()
		var sr events.SettingsResponse
		if code := e.do(bob, "PATCH", path, body, &sr); code != 200 {
			t.Fatalf("PATCH %s: %d", body, code)
		}
		got := sr.Settings.MutedUntil
		if sr.Settings.ConversationID != conv || (got == nil) != (want == nil) || (got != nil && !got.Equal(*want)) {
			t.Fatalf("PATCH %s: %+v, want %v", body, sr.Settings, want)
		}
		if l := listed(bob); (l == nil) != (want == nil) || (l != nil && !l.Equal(*want)) {
			t.Fatalf("list after PATCH %s: %v, want %v", body, l, want)
		}
	}
	if listed(bob) != nil {
		t.Fatal("muted before any setting")
	}
	hour := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	set(fmt.Sprintf(`{"muted_until":%q}`, hour.Format(time.RFC3339)), &hour)
	if listed(owner) != nil {
		t.Fatal("bob's mute shows in the owner's list")
	}
	set(`{}`, &hour) // absent: left as is
	set(`{"muted_until":null}`, nil)
	forever := events.MuteForever
	set(`{"muted_until":"9999-12-31T23:59:59Z"}`, &forever)
	set(fmt.Sprintf(`{"muted_until":%q}`, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)), nil)

	// A mute that lapses disappears from the list by itself.
	soon := time.Now().Add(1500 * time.Millisecond).UTC()
	var sr events.SettingsResponse
	e.do(bob, "PATCH", path, fmt.Sprintf(`{"muted_until":%q}`, soon.Format(time.RFC3339Nano)), &sr)
	if listed(bob) == nil {
		t.Fatal("short mute not listed")
	}
	time.Sleep(1600 * time.Millisecond)
	if listed(bob) != nil {
		t.Fatal("a lapsed mute is still listed")
	}

	for body, want := range map[string]int{
		`{"muted_until":"tomorrow"}`:              400,
		`{"muted_until":5}`:                       400,
		`{"mute":true}`:                           400,
		`{"muted_until":"10000-01-01T00:00:00Z"}`: 400,
	} {
		if code := e.do(bob, "PATCH", path, body, nil); code != want {
			t.Errorf("PATCH %s: %d, want %d", body, code, want)
		}
	}
	if code := e.do(stranger, "PATCH", path, `{"muted_until":null}`, nil); code != 404 {
		t.Fatalf("stranger: %d", code)
	}
	if code := e.do(bob, "PATCH", "/v1/conversations/nope/settings", `{}`, nil); code != 404 {
		t.Fatalf("missing conversation: %d", code)
	}
	if n := len(e.pub.Published()); n != facts {
		t.Fatalf("mute emitted %d facts", n-facts)
	}
}
