package edge

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
)

// TestV11SendFieldsAndPushes: the send frame's v1.1 fields reach the command unchanged, and the
// v1.1 facts are pushed as message.edited, reaction and pins.updated (their data the fact's), not
// resent like message pushes.
func TestV11SendFieldsAndPushes(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResendTimeout = 300 * time.Millisecond; c.ResendAttempts = 2 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := h.commands(ctx)
	c, _ := h.dial("u1", "s1")

	send(t, c, "send", "f1", map[string]any{"conversation_id": "c1", "client_msg_id": "m1", "type": "text", "text": "hi",
		"reply_to": "m-0", "mentions": []string{"u2", "u3"}, "mention_all": true})
	sc, err := events.Decode[events.SendCommand](nextEvent(t, cmds, events.TypeMessageSend))
	if err != nil || sc.ReplyTo != "m-0" || !slices.Equal(sc.Mentions, []string{"u2", "u3"}) || !sc.MentionAll {
		t.Fatalf("command %+v %v", sc, err)
	}

	at := time.Now().UTC()
	h.deliver(events.TypeMessageEdited, "", events.MessageFact{Message: events.Message{ID: "m-1", ConversationID: "c1", Seq: 1,
		SenderID: "u1", Type: "text", Text: "edited", Status: "normal", EditedAt: &at}}, "u1")
	h.deliver(events.TypeReactionChanged, "", events.ReactionChanged{ConversationID: "c1", MessageID: "m-1", UserID: "u2",
		Key: "👍", Op: events.ReactionAdd, Reactions: []events.Reaction{{Key: "👍", Count: 1}}}, "u1")
	h.deliver(events.TypeConversationPinned, "", events.ConversationPinned{ConversationID: "c1", MessageID: "m-1",
		Pinned: true, UserID: "u2", PinnedAt: at}, "u1")
	for _, w := range []struct{ typ, data string }{ // in delivery order: readUntil skips other frames
		{events.FrameMessageEdited, `"text":"edited"`},
		{events.FrameReaction, `"op":"add"`},
		{events.FramePinsUpdated, `"pinned":true`},
	} {
		if f := readUntil(t, c, w.typ); !strings.Contains(string(f.Data), w.data) {
			t.Fatalf("%s push: %s", w.typ, f.Data)
		}
	}
	// Not acked, so never resent.
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			break
		}
		for _, typ := range []string{events.FrameMessageEdited, events.FrameReaction, events.FramePinsUpdated} {
			if strings.Contains(string(b), `"type":"`+typ+`"`) {
				t.Fatalf("resent: %s", b)
			}
		}
	}
}
