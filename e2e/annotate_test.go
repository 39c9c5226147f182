//go:build e2e

package e2e

// v1.1 (API.md "v1.1 additions"): edit, reactions, replies, mentions, pins, read-by, through the
// public API only.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// quiet is how long a test waits to show that something is NOT pushed.
const quiet = 1500 * time.Millisecond

// isEdited matches message.edited pushes of message id.
func isEdited(id string, ok func(events.Message) bool) func(events.Frame) bool {
	return func(f events.Frame) bool {
		if f.Type != events.FrameMessageEdited {
			return false
		}
		m, err := client.DecodeMessage(f)
		return err == nil && m.ID == id && (ok == nil || ok(m))
	}
}

// isReaction matches reaction pushes of message id.
func isReaction(id string, ok func(events.ReactionChanged) bool) func(events.Frame) bool {
	return client.HasData(events.FrameReaction, func(r events.ReactionChanged) bool { return r.MessageID == id && ok(r) })
}

// isPins matches pins.updated pushes of message id.
func isPins(id string, pinned bool) func(events.Frame) bool {
	return client.HasData(events.FramePinsUpdated, func(p events.ConversationPinned) bool {
		return p.MessageID == id && p.Pinned == pinned
	})
}

func TestEdit(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, stranger := newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b)
	aConn, bConn := a.dial(t, 0), b.dial(t, 1)
	m, err := a.SendMessage(ctx, conv.ID, text("helo wrld"))
	if err != nil {
		t.Fatal(err)
	}

	e, err := a.EditMessage(ctx, m.ID, "hello world")
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if e.Text != "hello world" || e.EditedAt == nil || e.Seq != m.Seq || !e.CreatedAt.Equal(m.CreatedAt) || e.ID != m.ID {
		t.Fatalf("edited: %+v (was %+v)", e, m)
	}
	// Every member, the editor's own devices included, gets message.edited with the whole message.
	for _, c := range []*client.Conn{aConn, bConn} {
		if _, err := c.Await(ctx, isEdited(m.ID, func(x events.Message) bool {
			return x.Text == "hello world" && x.EditedAt != nil && x.Seq == m.Seq
		})); err != nil {
			t.Fatalf("message.edited push: %v", err)
		}
	}
	// History and last_message show the current text.
	h, err := b.History(ctx, conv.ID, client.HistoryQuery{})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Text != "hello world" || h.Messages[0].EditedAt == nil {
		t.Fatalf("history after edit: %+v %v", h, err)
	}
	list, err := b.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.ID == conv.ID && (c.LastMessage == nil || c.LastMessage.Text != "hello world") {
			t.Fatalf("last_message after edit: %+v", c.LastMessage)
		}
	}

	// The same text again: 200, nothing changes, nothing is pushed.
	again, err := a.EditMessage(ctx, m.ID, "hello world")
	if err != nil || !again.EditedAt.Equal(*e.EditedAt) {
		t.Fatalf("no-op edit: %+v %v", again, err)
	}
	if err := bConn.AwaitNone(ctx, quiet, isEdited(m.ID, nil)); err != nil {
		t.Fatalf("no-op edit was pushed: %v", err)
	}

	// Who may edit what.
	_, err = b.EditMessage(ctx, m.ID, "by b")
	expectCode(t, "another member edits", err, events.CodeForbidden)
	_, err = stranger.EditMessage(ctx, m.ID, "by a stranger")
	expectCode(t, "a stranger edits", err, events.CodeNotFound)
	_, err = a.EditMessage(ctx, "0193a000-0000-7000-8000-00000000dead", "x")
	expectCode(t, "missing message", err, events.CodeNotFound)
	_, err = a.EditMessage(ctx, m.ID, "")
	expectCode(t, "empty text", err, events.CodeInvalidArgument)
	_, err = a.EditMessage(ctx, m.ID, strings.Repeat("é", 4001))
	expectCode(t, "4001 chars", err, events.CodeInvalidArgument)
	if _, err := a.EditMessage(ctx, m.ID, strings.Repeat("é", 4000)); err != nil {
		t.Fatalf("4000 chars: %v", err)
	}
	custom, err := a.SendMessage(ctx, conv.ID, events.SendMessage{ClientMsgID: "c-" + randHex(8), Type: events.MessageCustom,
		Payload: json.RawMessage(`{"card":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.EditMessage(ctx, custom.ID, "text now")
	expectCode(t, "edit a custom message", err, events.CodeInvalidArgument)
	if _, err := a.Revoke(ctx, custom.ID); err != nil {
		t.Fatal(err)
	}
	revoked, err := a.SendMessage(ctx, conv.ID, text("to revoke"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	_, err = a.EditMessage(ctx, revoked.ID, "back")
	expectCode(t, "edit a revoked message", err, events.CodeConflict)
}

// TestEditWindow waits out the platform's short EDIT_WINDOW (main_test.go).
func TestEditWindow(t *testing.T) {
	if os.Getenv("PARLEY_E2E_GATEWAY") != "" {
		t.Skip("an external platform's EDIT_WINDOW is unknown (default 10 min)")
	}
	ctx := timeout(t, time.Minute)
	a, b := newUser(t), newUser(t)
	conv := group(t, a, b)
	m, err := a.SendMessage(ctx, conv.ID, text("soon frozen"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(m.CreatedAt.Add(e2eEditWindow + time.Second)))
	_, err = a.EditMessage(ctx, m.ID, "too late")
	expectCode(t, "edit past the window", err, events.CodeEditWindowExpired)
}

func TestReactions(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, stranger := newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b)
	aConn, bConn := a.dial(t, 0), b.dial(t, 1)
	// Raw frames too: the push must carry no "me" (one encoding serves every member).
	raw := make(chan events.Frame, 64)
	aConn.OnFrame(func(f events.Frame) {
		if f.Type == events.FrameReaction {
			raw <- f
		}
	})
	m, err := a.SendMessage(ctx, conv.ID, text("react to me"))
	if err != nil {
		t.Fatal(err)
	}
	const thumbs = "👍"
	got, err := b.React(ctx, m.ID, thumbs)
	if err != nil {
		t.Fatalf("react: %v", err)
	}
	if len(got.Reactions) != 1 || got.Reactions[0].Key != thumbs || got.Reactions[0].Count != 1 || got.Reactions[0].Me == nil || !*got.Reactions[0].Me {
		t.Fatalf("b's view: %+v", got.Reactions)
	}
	added := func(r events.ReactionChanged) bool {
		return r.UserID == b.UserID() && r.Op == events.ReactionAdd && r.Key == thumbs && r.ConversationID == conv.ID &&
			len(r.Reactions) == 1 && r.Reactions[0].Count == 1
	}
	for _, c := range []*client.Conn{aConn, bConn} {
		if _, err := c.Await(ctx, isReaction(m.ID, added)); err != nil {
			t.Fatalf("reaction push: %v", err)
		}
	}
	select {
	case f := <-raw:
		if bytes.Contains(f.Data, []byte(`"me"`)) {
			t.Fatalf("reaction push carries me: %s", f.Data)
		}
	case <-ctx.Done():
		t.Fatal("no raw reaction frame")
	}

	// Idempotent: a repeat answers the same and emits nothing.
	if again, err := b.React(ctx, m.ID, thumbs); err != nil || len(again.Reactions) != 1 || again.Reactions[0].Count != 1 {
		t.Fatalf("repeat: %+v %v", again.Reactions, err)
	}
	if err := aConn.AwaitNone(ctx, quiet, isReaction(m.ID, func(events.ReactionChanged) bool { return true })); err != nil {
		t.Fatalf("a repeat was pushed: %v", err)
	}

	// a reacts too; keys keep first-use order; me is per caller.
	if _, err := a.React(ctx, m.ID, thumbs); err != nil {
		t.Fatal(err)
	}
	av, err := a.React(ctx, m.ID, "heart")
	if err != nil {
		t.Fatal(err)
	}
	if len(av.Reactions) != 2 || av.Reactions[0].Key != thumbs || av.Reactions[0].Count != 2 || av.Reactions[1].Key != "heart" ||
		!*av.Reactions[1].Me {
		t.Fatalf("a's view: %+v", av.Reactions)
	}
	h, err := b.History(ctx, conv.ID, client.HistoryQuery{})
	if err != nil || len(h.Messages) != 1 {
		t.Fatal(h, err)
	}
	if r := h.Messages[0].Reactions; len(r) != 2 || !*r[0].Me || *r[1].Me {
		t.Fatalf("b's history view: %+v", r)
	}

	// Remove: a real remove is pushed, a repeat is not.
	rv, err := a.Unreact(ctx, m.ID, "heart")
	if err != nil || len(rv.Reactions) != 1 {
		t.Fatalf("remove: %+v %v", rv.Reactions, err)
	}
	if _, err := bConn.Await(ctx, isReaction(m.ID, func(r events.ReactionChanged) bool {
		return r.Op == events.ReactionRemove && r.Key == "heart" && r.UserID == a.UserID() && len(r.Reactions) == 1
	})); err != nil {
		t.Fatalf("remove push: %v", err)
	}
	if _, err := a.Unreact(ctx, m.ID, "heart"); err != nil {
		t.Fatalf("repeat remove: %v", err)
	}
	if err := bConn.AwaitNone(ctx, quiet, isReaction(m.ID, func(r events.ReactionChanged) bool { return r.Key == "heart" && r.Op == events.ReactionRemove })); err != nil {
		t.Fatalf("a repeated remove was pushed: %v", err)
	}

	// Keys: byte for byte, 1-32 bytes, no whitespace or control characters.
	for _, bad := range []string{"a b", "tab\there", strings.Repeat("x", 33), "nl\n"} {
		_, err := a.React(ctx, m.ID, bad)
		expectCode(t, fmt.Sprintf("key %q", bad), err, events.CodeInvalidArgument)
	}
	if _, err := a.React(ctx, m.ID, strings.Repeat("x", 32)); err != nil {
		t.Fatalf("32-byte key: %v", err)
	}
	_, err = stranger.React(ctx, m.ID, thumbs)
	expectCode(t, "a stranger reacts", err, events.CodeNotFound)

	// 20 distinct keys, then the 21st is refused; an existing key still takes more users.
	for i := 3; i <= 20; i++ { // 👍 and the 32-byte key are there (heart was removed): 2 + 18 = 20
		if _, err := a.React(ctx, m.ID, fmt.Sprintf("k%d", i)); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	_, err = b.React(ctx, m.ID, "k21")
	expectCode(t, "21st key", err, events.CodeLimitExceeded)
	if full, err := b.React(ctx, m.ID, "k3"); err != nil || len(full.Reactions) != 20 {
		t.Fatalf("existing key at the cap: %d %v", len(full.Reactions), err)
	}

	// Revoked: reactions refused and no longer shown.
	if _, err := a.Revoke(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = b.React(ctx, m.ID, thumbs)
	expectCode(t, "react to a revoked message", err, events.CodeConflict)
	h, err = b.History(ctx, conv.ID, client.HistoryQuery{})
	if err != nil || len(h.Messages[0].Reactions) != 0 {
		t.Fatalf("revoked message shows reactions: %+v %v", h.Messages[0].Reactions, err)
	}
}

func TestRepliesAndMentions(t *testing.T) {
	ctx := timeout(t, 2*time.Minute)
	a, b, c, outsider := newUser(t), newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b, c)
	other := group(t, a, outsider)
	aConn, bConn := a.dial(t, 0), b.dial(t, 1)

	long := strings.Repeat("问", 60) + strings.Repeat("q", 60) // 120 chars, 240 bytes
	parent, err := b.SendMessage(ctx, conv.ID, text(long))
	if err != nil {
		t.Fatal(err)
	}
	reply := text("answer")
	reply.ReplyTo = parent.ID
	r, err := a.SendMessage(ctx, conv.ID, reply)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	want := events.ReplyTo{ID: parent.ID, Seq: parent.Seq, SenderID: b.UserID(), Type: events.MessageText,
		TextPreview: strings.Repeat("问", 60) + strings.Repeat("q", 40)}
	if r.ReplyTo == nil || *r.ReplyTo != want {
		t.Fatalf("reply_to %+v, want %+v", r.ReplyTo, want)
	}
	// The push carries it too.
	if _, err := bConn.Await(ctx, client.IsMessage(conv.ID, func(m events.Message) bool {
		return m.ID == r.ID && m.ReplyTo != nil && m.ReplyTo.ID == parent.ID
	})); err != nil {
		t.Fatalf("reply push: %v", err)
	}
	// The preview is computed on read: an edit shows, a revoke blanks it.
	if _, err := b.EditMessage(ctx, parent.ID, "short now"); err != nil {
		t.Fatal(err)
	}
	if got := findMessage(t, ctx, c, conv.ID, r.ID); got.ReplyTo == nil || got.ReplyTo.TextPreview != "short now" {
		t.Fatalf("preview after edit: %+v", got.ReplyTo)
	}
	if _, err := b.Revoke(ctx, parent.ID); err != nil {
		t.Fatal(err)
	}
	if got := findMessage(t, ctx, c, conv.ID, r.ID); got.ReplyTo == nil || got.ReplyTo.TextPreview != "" || got.ReplyTo.ID != parent.ID {
		t.Fatalf("preview after revoke: %+v", got.ReplyTo)
	}
	// A revoked parent may still be replied to; a non-text parent previews "".
	reply2 := text("late answer")
	reply2.ReplyTo = parent.ID
	if _, err := a.SendMessage(ctx, conv.ID, reply2); err != nil {
		t.Fatalf("reply to a revoked message: %v", err)
	}
	card, err := a.SendMessage(ctx, conv.ID, events.SendMessage{ClientMsgID: "c-" + randHex(8), Type: events.MessageCustom, Payload: json.RawMessage(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	reply3 := text("on the card")
	reply3.ReplyTo = card.ID
	if r3, err := b.SendMessage(ctx, conv.ID, reply3); err != nil || r3.ReplyTo == nil || r3.ReplyTo.TextPreview != "" || r3.ReplyTo.Type != events.MessageCustom {
		t.Fatalf("reply to a card: %+v %v", r3.ReplyTo, err)
	}
	// Bad reply_to: unknown id, another conversation's message.
	elsewhere, err := a.SendMessage(ctx, other.ID, text("elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"0193a000-0000-7000-8000-00000000beef", elsewhere.ID} {
		bad := text("bad reply")
		bad.ReplyTo = id
		_, err := a.SendMessage(ctx, conv.ID, bad)
		expectCode(t, "reply_to "+id, err, events.CodeInvalidArgument)
		if ae := (*client.APIError)(nil); !errors.As(err, &ae) || ae.Problem.Field != "reply_to" {
			t.Fatalf("bad reply_to: %v, want field reply_to", err)
		}
	}
	// Over the socket: the send frame takes the new fields; refusals come back as error frames.
	wsReply := text("ws reply")
	wsReply.ReplyTo, wsReply.Mentions = card.ID, []string{b.UserID()}
	wm, err := aConn.SendMessage(ctx, conv.ID, wsReply)
	if err != nil || wm.ReplyTo == nil || wm.ReplyTo.ID != card.ID || !slices.Equal(wm.Mentions, []string{b.UserID()}) {
		t.Fatalf("ws send with reply and mentions: %+v %v", wm, err)
	}
	wsBad := text("ws bad")
	wsBad.ReplyTo = elsewhere.ID
	_, err = aConn.SendMessage(ctx, conv.ID, wsBad)
	expectCode(t, "ws bad reply_to", err, events.CodeInvalidArgument)
	wsAll := text("ws @all by a member")
	wsAll.MentionAll = true
	_, err = bConn.SendMessage(ctx, conv.ID, wsAll)
	expectCode(t, "ws mention_all by a member", err, events.CodeForbidden)

	// Mentions: de-duplicated; members only; at most 100.
	mm := text("hey @b @b @c")
	mm.Mentions = []string{b.UserID(), b.UserID(), c.UserID()}
	sent, err := a.SendMessage(ctx, conv.ID, mm)
	if err != nil || !slices.Equal(sent.Mentions, []string{b.UserID(), c.UserID()}) || sent.MentionAll {
		t.Fatalf("mentions: %+v %v", sent.Mentions, err)
	}
	bad := text("hey outsider")
	bad.Mentions = []string{outsider.UserID()}
	_, err = a.SendMessage(ctx, conv.ID, bad)
	expectCode(t, "mention a non-member", err, events.CodeInvalidArgument)
	many := text("hey everyone by name")
	for i := range 101 {
		many.Mentions = append(many.Mentions, fmt.Sprintf("0193a000-0000-7000-8000-%012d", i))
	}
	_, err = a.SendMessage(ctx, conv.ID, many)
	expectCode(t, "101 mentions", err, events.CodeInvalidArgument)
	// mention_all: owner or admin of a group only.
	all := text("@all by a member")
	all.MentionAll = true
	_, err = b.SendMessage(ctx, conv.ID, all)
	expectCode(t, "mention_all by a member", err, events.CodeForbidden)
	all.ClientMsgID = "c-" + randHex(8)
	everyone, err := a.SendMessage(ctx, conv.ID, all)
	if err != nil || !everyone.MentionAll {
		t.Fatalf("mention_all by the owner: %+v %v", everyone, err)
	}
	x, y := newUser(t), newUser(t)
	direct := befriend(t, x, y)
	dm := text("@all in a direct chat")
	dm.MentionAll = true
	_, err = x.SendMessage(ctx, direct.ID, dm)
	expectCode(t, "mention_all in a direct chat", err, events.CodeForbidden)

	// mention_count: b's unread mentions (wsReply, mm, everyone); c's: mm and everyone; a's own none.
	if n := mentionCount(t, ctx, b, conv.ID); n != 3 {
		t.Fatalf("b's mention_count %d, want 3", n)
	}
	if n := mentionCount(t, ctx, c, conv.ID); n != 2 {
		t.Fatalf("c's mention_count %d, want 2", n)
	}
	if n := mentionCount(t, ctx, a, conv.ID); n != 0 {
		t.Fatalf("a's mention_count %d, want 0", n)
	}
	if d, err := b.Conversation(ctx, conv.ID); err != nil || d.Conversation.MentionCount != 3 {
		t.Fatalf("GET conversation mention_count: %d %v", d.Conversation.MentionCount, err)
	}
	// A read up to seq drops the mentions at or below it; reading everything drops them all.
	if _, err := b.Read(ctx, conv.ID, wm.Seq); err != nil {
		t.Fatal(err)
	}
	if n := mentionCount(t, ctx, b, conv.ID); n != 2 {
		t.Fatalf("b's mention_count after reading to %d: %d, want 2", wm.Seq, n)
	}
	// A revoked mention no longer counts.
	if _, err := a.Revoke(ctx, sent.ID); err != nil {
		t.Fatal(err)
	}
	if n := mentionCount(t, ctx, b, conv.ID); n != 1 {
		t.Fatalf("b's mention_count after a revoke: %d, want 1", n)
	}
	if _, err := b.Read(ctx, conv.ID, everyone.Seq); err != nil {
		t.Fatal(err)
	}
	if n := mentionCount(t, ctx, b, conv.ID); n != 0 {
		t.Fatalf("b's mention_count after reading all: %d", n)
	}
}

// findMessage returns message id from u's history of conv.
func findMessage(t *testing.T, ctx context.Context, u *user, conv, id string) events.Message {
	t.Helper()
	all, err := u.AllHistory(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s not in history", id)
	return events.Message{}
}

// mentionCount returns u's mention_count of conv from the conversation list.
func mentionCount(t *testing.T, ctx context.Context, u *user, conv string) int64 {
	t.Helper()
	list, err := u.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.ID == conv {
			return c.MentionCount
		}
	}
	t.Fatalf("conversation %s not listed", conv)
	return 0
}

func TestPins(t *testing.T) {
	ctx := timeout(t, 2*time.Minute)
	a, b, stranger := newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b)
	other := group(t, a, stranger)
	bConn := b.dial(t, 1)
	m1, err := b.SendMessage(ctx, conv.ID, text("pin me"))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := a.SendMessage(ctx, conv.ID, text("pin me too"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Pin(ctx, conv.ID, m1.ID)
	if err != nil || p.Message.ID != m1.ID || p.PinnedBy != a.UserID() || p.PinnedAt.IsZero() {
		t.Fatalf("pin: %+v %v", p, err)
	}
	if _, err := bConn.Await(ctx, client.HasData(events.FramePinsUpdated, func(x events.ConversationPinned) bool {
		return x.MessageID == m1.ID && x.Pinned && x.UserID == a.UserID() && x.ConversationID == conv.ID
	})); err != nil {
		t.Fatalf("pins.updated push: %v", err)
	}
	again, err := a.Pin(ctx, conv.ID, m1.ID)
	if err != nil || !again.PinnedAt.Equal(p.PinnedAt) || again.PinnedBy != p.PinnedBy {
		t.Fatalf("pin again: %+v %v", again, err)
	}
	if err := bConn.AwaitNone(ctx, quiet, isPins(m1.ID, true)); err != nil {
		t.Fatalf("a repeated pin was pushed: %v", err)
	}
	if _, err := a.Pin(ctx, conv.ID, m2.ID); err != nil {
		t.Fatal(err)
	}
	pins, err := b.Pins(ctx, conv.ID)
	if err != nil || len(pins) != 2 || pins[0].Message.ID != m2.ID || pins[1].Message.ID != m1.ID {
		t.Fatalf("pins newest first: %+v %v", pins, err)
	}

	// Who may pin: a group's owner/admins; a member 403, a stranger 404.
	_, err = b.Pin(ctx, conv.ID, m2.ID)
	expectCode(t, "a member pins in a group", err, events.CodeForbidden)
	expectCode(t, "a member unpins in a group", b.Unpin(ctx, conv.ID, m2.ID), events.CodeForbidden)
	_, err = stranger.Pin(ctx, conv.ID, m2.ID)
	expectCode(t, "a stranger pins", err, events.CodeNotFound)
	_, err = stranger.Pins(ctx, conv.ID)
	expectCode(t, "a stranger lists pins", err, events.CodeNotFound)
	elsewhere, err := a.SendMessage(ctx, other.ID, text("elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Pin(ctx, conv.ID, elsewhere.ID)
	expectCode(t, "pin another conversation's message", err, events.CodeNotFound)
	if err := a.SetMemberRole(ctx, conv.ID, b.UserID(), events.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Pin(ctx, conv.ID, m2.ID); err != nil {
		t.Fatalf("an admin pins: %v", err)
	}

	// Revoking a pinned message unpins it (pushed); a revoked message cannot be pinned.
	if _, err := b.Revoke(ctx, m1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bConn.Await(ctx, client.HasData(events.FramePinsUpdated, func(x events.ConversationPinned) bool {
		return x.MessageID == m1.ID && !x.Pinned && x.UserID == b.UserID()
	})); err != nil {
		t.Fatalf("unpin push on revoke: %v", err)
	}
	pins, err = a.Pins(ctx, conv.ID)
	if err != nil || len(pins) != 1 || pins[0].Message.ID != m2.ID {
		t.Fatalf("pins after revoke: %+v %v", pins, err)
	}
	_, err = a.Pin(ctx, conv.ID, m1.ID)
	expectCode(t, "pin a revoked message", err, events.CodeConflict)

	// Unpin: 204, idempotent, pushed once.
	if err := a.Unpin(ctx, conv.ID, m2.ID); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	if _, err := bConn.Await(ctx, isPins(m2.ID, false)); err != nil {
		t.Fatalf("unpin push: %v", err)
	}
	if err := a.Unpin(ctx, conv.ID, m2.ID); err != nil {
		t.Fatalf("unpin again: %v", err)
	}
	if err := bConn.AwaitNone(ctx, quiet, isPins(m2.ID, false)); err != nil {
		t.Fatalf("a repeated unpin was pushed: %v", err)
	}

	// Direct chats: either member pins.
	x, y := newUser(t), newUser(t)
	direct := befriend(t, x, y)
	dm, err := x.SendMessage(ctx, direct.ID, text("pin in direct"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := y.Pin(ctx, direct.ID, dm.ID); err != nil {
		t.Fatalf("a direct member pins: %v", err)
	}

	// 50 pins, then the 51st is refused.
	g := group(t, a, b)
	for i := range 51 {
		m, err := a.SendMessage(ctx, g.ID, text(fmt.Sprint("p", i)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Pin(ctx, g.ID, m.ID)
		if i < 50 && err != nil {
			t.Fatalf("pin %d: %v", i, err)
		}
		if i == 50 {
			expectCode(t, "51st pin", err, events.CodeLimitExceeded)
		}
	}
}

// TestReadBy: "who has read seq N" of a group (v1.1 group read receipts).
func TestReadBy(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, c, stranger := newUser(t), newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b, c)
	var last events.Message
	for i := range 3 {
		m, err := a.SendMessage(ctx, conv.ID, text(fmt.Sprint("r", i)))
		if err != nil {
			t.Fatal(err)
		}
		last = m
	}
	if _, err := b.Read(ctx, conv.ID, last.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, conv.ID, 1); err != nil {
		t.Fatal(err)
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, tc := range []struct {
		seq  int64
		want []string
	}{
		{1, sorted(a.UserID(), b.UserID(), c.UserID())},
		{2, sorted(a.UserID(), b.UserID())}, // sending moves the sender's read position
		{last.Seq + 1, []string{}},
	} {
		got, err := c.ReadBy(ctx, conv.ID, tc.seq)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Fatalf("read-by seq %d: %v %v, want %v", tc.seq, got, err, tc.want)
		}
	}
	_, err := stranger.ReadBy(ctx, conv.ID, 1)
	expectCode(t, "a stranger asks read-by", err, events.CodeNotFound)
	_, err = c.ReadBy(ctx, conv.ID, 0)
	expectCode(t, "read-by seq 0", err, events.CodeInvalidArgument)
}
