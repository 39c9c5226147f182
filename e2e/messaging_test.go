//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/check"
	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

func TestContactsAndDirectConversation(t *testing.T) {
	ctx := timeout(t, time.Minute)
	alice, bob, carol := newUser(t), newUser(t), newUser(t)
	bobConn := bob.dial(t, 1)

	// No direct conversation before being contacts.
	_, err := alice.CreateDirect(ctx, bob.UserID())
	expectCode(t, "direct conversation with a stranger", err, events.CodeNotContacts)

	req, err := alice.RequestContact(ctx, bob.UserID(), "hello bob")
	if err != nil || req.Status != events.RequestPending || req.ToUserID != bob.UserID() {
		t.Fatalf("request: %+v %v", req, err)
	}
	if _, err := bobConn.Await(ctx, client.IsType(events.FrameContactRequest)); err != nil {
		t.Fatalf("contact.request push: %v", err)
	}
	in, err := bob.ContactRequests(ctx, client.Incoming)
	if err != nil || len(in) != 1 || in[0].ID != req.ID {
		t.Fatalf("incoming: %+v %v", in, err)
	}
	out, err := alice.ContactRequests(ctx, client.Outgoing)
	if err != nil || len(out) != 1 {
		t.Fatalf("outgoing: %+v %v", out, err)
	}
	// Only the addressee may accept.
	_, err = carol.AcceptContact(ctx, req.ID)
	expectCode(t, "accept someone else's request", err, events.CodeNotFound)
	acc, err := bob.AcceptContact(ctx, req.ID)
	if err != nil || acc.Status != events.RequestAccepted {
		t.Fatalf("accept: %+v %v", acc, err)
	}
	for _, u := range []*user{alice, bob} {
		cs, err := u.Contacts(ctx)
		if err != nil || len(cs) != 1 {
			t.Fatalf("%s contacts: %+v %v", u.name, cs, err)
		}
	}

	// One direct conversation per pair, whoever opens it.
	c1, err := alice.CreateDirect(ctx, bob.UserID())
	if err != nil || c1.Type != events.ConversationDirect {
		t.Fatalf("direct: %+v %v", c1, err)
	}
	c2, err := bob.CreateDirect(ctx, alice.UserID())
	if err != nil || c2.ID != c1.ID {
		t.Fatalf("direct again: %+v %v (want %s)", c2, err, c1.ID)
	}

	l := check.NewLedger()
	l.Watch(bob.UserID(), "bob/1", bobConn)
	hi := text("hi bob")
	m, err := alice.SendMessage(ctx, c1.ID, hi)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	l.Acked(c1.ID, hi.ClientMsgID, m)
	if _, err := bobConn.Await(ctx, client.IsMessage(c1.ID, func(x events.Message) bool { return x.ID == m.ID })); err != nil {
		t.Fatalf("push to bob: %v", err)
	}
	// A stranger sees the same 404 as a missing conversation.
	_, err = carol.Conversation(ctx, c1.ID)
	expectCode(t, "stranger reads a conversation", err, events.CodeNotFound)
	_, err = carol.SendMessage(ctx, c1.ID, text("intrude"))
	expectCode(t, "stranger sends", err, events.CodeNotFound)

	// Reject and block.
	req2, err := carol.RequestContact(ctx, alice.UserID(), "")
	if err != nil {
		t.Fatalf("carol request: %v", err)
	}
	if r, err := alice.RejectContact(ctx, req2.ID); err != nil || r.Status != events.RequestRejected {
		t.Fatalf("reject: %+v %v", r, err)
	}
	if err := alice.Block(ctx, carol.UserID()); err != nil {
		t.Fatalf("block: %v", err)
	}
	_, err = carol.RequestContact(ctx, alice.UserID(), "again")
	expectCode(t, "request to a blocker", err, events.CodeBlocked)
	if err := alice.Unblock(ctx, carol.UserID()); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	if err := bob.RemoveContact(ctx, alice.UserID()); err != nil {
		t.Fatalf("remove contact: %v", err)
	}
	mustNothingLost(t, l, check.Options{PushRequired: true}, alice, bob)
}

// TestGroupAcrossEdges: five members, spread over both edges, send over HTTP and WebSocket at once;
// every member's socket gets every message exactly once and in seq order.
func TestGroupAcrossEdges(t *testing.T) {
	ctx := timeout(t, 2*time.Minute)
	us := []*user{newUser(t), newUser(t), newUser(t), newUser(t), newUser(t)}
	conv := group(t, us[0], us[1:]...)
	if conv.MembersCount != 5 || conv.Type != events.ConversationGroup {
		t.Fatalf("group: %+v", conv)
	}
	l := check.NewLedger()
	conns := make([]*client.Conn, len(us))
	for i, u := range us {
		conns[i] = u.dial(t, i)
		l.Watch(u.UserID(), fmt.Sprintf("%s/edge%d", u.name, i%len(sys.edges)), conns[i])
	}

	const perUser = 10
	var wg sync.WaitGroup
	errs := make(chan error, len(us)*perUser)
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
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	awaitPushes(t, ctx, l, len(us)*perUser, us, conns)
	rep := mustNothingLost(t, l, check.Options{PushRequired: true}, us...)
	if rep.Conversation[conv.ID] != len64(us)*perUser {
		t.Fatalf("last seq %d, want %d", rep.Conversation[conv.ID], len(us)*perUser)
	}

	// Retrying a client_msg_id returns the original message, stored once.
	body := text("idempotent")
	first, err := us[1].SendMessage(ctx, conv.ID, body)
	if err != nil {
		t.Fatal(err)
	}
	again, err := us[1].SendMessage(ctx, conv.ID, body)
	if err != nil || again.ID != first.ID || again.Seq != first.Seq {
		t.Fatalf("retry: %+v %v, first %+v", again, err, first)
	}
	l.Acked(conv.ID, body.ClientMsgID, first)
	awaitPushes(t, ctx, l, len(us)*perUser+1, us, conns)
	mustNothingLost(t, l, check.Options{PushRequired: true}, us...)
}

func len64[T any](s []T) int64 { return int64(len(s)) }

// awaitPushes polls the ledger until every connection has n message pushes (or the context ends).
func awaitPushes(t *testing.T, ctx context.Context, l *check.Ledger, n int, us []*user, conns []*client.Conn) {
	t.Helper()
	for i, u := range us {
		key := fmt.Sprintf("%s/edge%d", u.name, i%len(sys.edges))
		for l.PushCount(key) < n {
			// Awaiting the next message frame on the socket is the event that can change the count.
			wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			_, _ = conns[i].Await(wctx, client.IsType(events.FrameMessage))
			cancel()
			if ctx.Err() != nil {
				t.Fatalf("%s got %d of %d pushes", key, l.PushCount(key), n)
			}
		}
	}
}

func TestReadReceipts(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, c := newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b, c)
	aConn := a.dial(t, 0)
	bConn := b.dial(t, 1)
	var last events.Message
	for i := range 3 {
		m, err := a.SendMessage(ctx, conv.ID, text(fmt.Sprint("m", i)))
		if err != nil {
			t.Fatal(err)
		}
		last = m
	}
	// b reads over the socket, c over HTTP; a sees both receipts pushed and in the member list.
	if err := bConn.Read(ctx, conv.ID, last.Seq); err != nil {
		t.Fatalf("ws read: %v", err)
	}
	if rs, err := c.Read(ctx, conv.ID, 2); err != nil || rs != 2 {
		t.Fatalf("http read: %d %v", rs, err)
	}
	// Never backwards.
	if rs, err := c.Read(ctx, conv.ID, 1); err != nil || rs != 2 {
		t.Fatalf("read backwards: %d %v", rs, err)
	}
	for _, who := range []*user{b, c} {
		if _, err := aConn.Await(ctx, client.HasData(events.FrameReadPush, func(r events.ConversationRead) bool {
			return r.ConversationID == conv.ID && r.UserID == who.UserID()
		})); err != nil {
			t.Fatalf("read push for %s: %v", who.name, err)
		}
	}
	d, err := a.Conversation(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{b.UserID(): last.Seq, c.UserID(): 2}
	for _, m := range d.Members {
		if w, ok := want[m.UserID]; ok && m.ReadSeq != w {
			t.Fatalf("member %s read_seq %d, want %d", m.UserID, m.ReadSeq, w)
		}
	}
	list, err := c.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range list {
		if cv.ID == conv.ID && (cv.ReadSeq != 2 || cv.UnreadCount != last.Seq-2) {
			t.Fatalf("c's view: read_seq %d unread %d", cv.ReadSeq, cv.UnreadCount)
		}
	}
}

func TestRevoke(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, c := newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b, c)
	bConn := b.dial(t, 1)
	m1, err := b.SendMessage(ctx, conv.ID, text("oops"))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c.SendMessage(ctx, conv.ID, text("by c"))
	if err != nil {
		t.Fatal(err)
	}
	// The sender revokes its own message over the socket; a plain member cannot revoke another's;
	// the owner can.
	if err := bConn.Revoke(ctx, m1.ID); err != nil {
		t.Fatalf("revoke own: %v", err)
	}
	_, err = b.Revoke(ctx, m2.ID)
	expectCode(t, "member revokes another's message", err, events.CodeForbidden)
	r, err := a.Revoke(ctx, m2.ID)
	if err != nil || r.Status != events.StatusRevoked || r.Text != "" {
		t.Fatalf("owner revoke: %+v %v", r, err)
	}
	if _, err := bConn.Await(ctx, func(f events.Frame) bool {
		if f.Type != events.FrameMessageRevoked {
			return false
		}
		m, err := client.DecodeMessage(f)
		return err == nil && m.ID == m2.ID
	}); err != nil {
		t.Fatalf("message.revoked push: %v", err)
	}
	h, err := c.History(ctx, conv.ID, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range h.Messages {
		if (m.ID == m1.ID || m.ID == m2.ID) && (m.Status != events.StatusRevoked || m.Text != "") {
			t.Fatalf("history keeps revoked content: %+v", m)
		}
	}
}

func TestHistoryPagination(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b := newUser(t), newUser(t)
	conv := group(t, a, b)
	l := check.NewLedger()
	const n = 25
	for i := range n {
		body := text(fmt.Sprint("h", i))
		m, err := a.SendMessage(ctx, conv.ID, body)
		if err != nil {
			t.Fatal(err)
		}
		l.Acked(conv.ID, body.ClientMsgID, m)
	}
	// Forward pages of 10: 10, 10, 5.
	var after int64
	var seen []int64
	for page := 0; ; page++ {
		h, err := b.History(ctx, conv.ID, client.HistoryQuery{AfterSeq: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range h.Messages {
			seen = append(seen, m.Seq)
		}
		if !h.HasMore {
			break
		}
		if page > 5 || len(h.Messages) == 0 {
			t.Fatalf("pagination does not end: %v", seen)
		}
		after = h.Messages[len(h.Messages)-1].Seq
	}
	for i, s := range seen {
		if s != int64(i+1) {
			t.Fatalf("forward pages: %v", seen)
		}
	}
	// Backwards from before_seq: the page holds the seqs just below it.
	h, err := b.History(ctx, conv.ID, client.HistoryQuery{BeforeSeq: 11, Limit: 5})
	if err != nil || len(h.Messages) != 5 {
		t.Fatalf("before page: %+v %v", h, err)
	}
	for _, m := range h.Messages {
		if m.Seq < 6 || m.Seq > 10 {
			t.Fatalf("before_seq=11 limit=5 returned seq %d", m.Seq)
		}
	}
	_, err = b.History(ctx, conv.ID, client.HistoryQuery{Limit: 201})
	expectCode(t, "limit over 200", err, events.CodeInvalidArgument)
	mustNothingLost(t, l, check.Options{}, a, b)
}

func TestPresenceAndTyping(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, outsider := newUser(t), newUser(t), newUser(t)
	conv := befriend(t, a, b)
	aConn := a.dial(t, 0)
	outConn := outsider.dial(t, 1)

	// b comes online on the other edge: a (a contact) sees it, and the presence route says so.
	bConn := b.dial(t, 1)
	if _, err := aConn.Await(ctx, client.HasData(events.FramePresence, func(p events.PresenceFrame) bool {
		return p.UserID == b.UserID() && p.Online
	})); err != nil {
		t.Fatalf("presence online push: %v", err)
	}
	ps, err := a.Presence(ctx, b.UserID(), outsider.UserID())
	if err != nil || len(ps) != 2 {
		t.Fatalf("presence: %+v %v", ps, err)
	}
	for _, p := range ps {
		if p.UserID == b.UserID() && (!p.Online || p.Devices < 1) {
			t.Fatalf("b presence: %+v", p)
		}
	}

	// Typing reaches the other member only: not the sender, not a stranger.
	if err := bConn.Typing(ctx, conv.ID, events.TypingStart); err != nil {
		t.Fatal(err)
	}
	if _, err := aConn.Await(ctx, client.HasData(events.FrameTypingPush, func(tf events.TypingFrame) bool {
		return tf.ConversationID == conv.ID && tf.UserID == b.UserID() && tf.State == events.TypingStart
	})); err != nil {
		t.Fatalf("typing push: %v", err)
	}
	if err := outConn.AwaitNone(ctx, time.Second, client.IsType(events.FrameTypingPush)); err != nil {
		t.Fatalf("stranger: %v", err)
	}
	if err := bConn.AwaitNone(ctx, 500*time.Millisecond, client.IsType(events.FrameTypingPush)); err != nil {
		t.Fatalf("sender echo: %v", err)
	}
	// A stranger's typing into the conversation is refused or dropped, never delivered.
	_ = outConn.Typing(ctx, conv.ID, events.TypingStart)
	if err := aConn.AwaitNone(ctx, time.Second, client.HasData(events.FrameTypingPush, func(tf events.TypingFrame) bool {
		return tf.UserID == outsider.UserID()
	})); err != nil {
		t.Fatalf("stranger typing delivered: %v", err)
	}

	// b goes away: a sees it offline.
	bConn.Close()
	if _, err := aConn.Await(ctx, client.HasData(events.FramePresence, func(p events.PresenceFrame) bool {
		return p.UserID == b.UserID() && !p.Online
	})); err != nil {
		t.Fatalf("presence offline push: %v", err)
	}
}
