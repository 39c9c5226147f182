package conversations_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parley-im/parley/events"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/send"
)

// TestMentionCountAndReadBy: mention_count counts the caller's unread, not own, not revoked messages
// that mention them or everyone, and a read drops those at or below its seq; read-by lists the
// members at or past a seq, members only.
func TestMentionCountAndReadBy(t *testing.T) {
	e := newEnv(t, send.Config{MaxUndelivered: 1 << 30})
	u := mt.Users(t, e.pool, 5)
	owner, b, c, d, stranger := u[0], u[1], u[2], u[3], u[4]
	conv := mt.Group(t, e.pool, owner, b, c, d)
	post := func(user, body string) events.Message {
		t.Helper()
		var r events.MessageResponse
		if code := e.do(user, "POST", "/v1/conversations/"+conv+"/messages", body, &r); code != 201 {
			t.Fatalf("send %s: %d", body, code)
		}
		return r.Message
	}
	n := 0
	msg := func(extra string) string {
		n++
		return fmt.Sprintf(`{"client_msg_id":"m%d","type":"text","text":"t%d"%s}`, n, n, extra)
	}
	post(owner, msg(fmt.Sprintf(`,"mentions":[%q]`, b)))
	post(owner, msg(""))
	post(owner, msg(`,"mention_all":true`))
	post(b, msg(fmt.Sprintf(`,"mentions":[%q]`, b))) // b's own: never counted for b
	m5 := post(c, msg(fmt.Sprintf(`,"mentions":[%q,%q]`, b, d)))
	count := func(user string) int64 {
		t.Helper()
		var r events.ConversationsResponse
		if code := e.do(user, "GET", "/v1/conversations", "", &r); code != 200 || len(r.Conversations) != 1 {
			t.Fatalf("list: %d", code)
		}
		var dt events.ConversationDetail
		if code := e.do(user, "GET", "/v1/conversations/"+conv, "", &dt); code != 200 || dt.Conversation.MentionCount != r.Conversations[0].MentionCount {
			t.Fatalf("get: %d %d vs %d", code, dt.Conversation.MentionCount, r.Conversations[0].MentionCount)
		}
		return r.Conversations[0].MentionCount
	}
	// Sending moves the sender's read position: owner has read 3, b 4, c 5, d nothing.
	for _, w := range []struct {
		user string
		want int64
	}{{d, 2}, {b, 1}, {c, 0}, {owner, 0}} { // d: m3 (all), m5; b: m5 (m1 is read)
		if got := count(w.user); got != w.want {
			t.Fatalf("mention_count of %s: %d, want %d", w.user, got, w.want)
		}
	}
	if code := e.do(d, "POST", "/v1/conversations/"+conv+"/read", `{"seq":3}`, nil); code != 200 {
		t.Fatalf("read: %d", code)
	}
	if got := count(d); got != 1 {
		t.Fatalf("d after reading 3: %d, want 1", got)
	}
	if code := e.do(c, "POST", "/v1/messages/"+m5.ID+"/revoke", "", nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if count(d) != 0 || count(b) != 0 {
		t.Fatal("a revoked mention still counts")
	}
	var rb events.ReadByResponse
	if code := e.do(c, "GET", fmt.Sprintf("/v1/conversations/%s/read-by?seq=%d", conv, 4), "", &rb); code != 200 {
		t.Fatalf("read-by: %d", code)
	}
	want := []string{b, c}
	slices.Sort(want)
	if !slices.Equal(rb.UserIDs, want) {
		t.Fatalf("read-by 4: %v, want %v", rb.UserIDs, want)
	}
	for _, q := range []string{"seq=0", "seq=x", ""} {
		if code := e.do(c, "GET", "/v1/conversations/"+conv+"/read-by?"+q, "", nil); code != 400 {
			t.Errorf("read-by %q: %d", q, code)
		}
	}
	if code := e.do(stranger, "GET", "/v1/conversations/"+conv+"/read-by?seq=1", "", nil); code != 404 {
		t.Fatalf("stranger read-by: %d", code)
	}
}
