package send_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-im/parley/events"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/send"
)

// TestRepliesAndMentions: reply_to, mentions and mention_all are checked in the insert statement
// (also when batched), stored, and carried by the answer, the fact and the history.
func TestRepliesAndMentions(t *testing.T) {
	h, pub, hh := newSend(t, send.Config{MaxMentions: 3})
	pool := poolOf(t, h)
	ctx := context.Background()
	u := mt.Users(t, pool, 4)
	owner, member, other, outsider := u[0], u[1], u[2], u[3]
	conv := mt.Group(t, pool, owner, member, other)
	elsewhere := mt.Group(t, pool, outsider, owner)
	n := 0
	msg := func(text string) events.SendMessage {
		n++
		return events.SendMessage{ClientMsgID: fmt.Sprintf("c-%d", n), Type: events.MessageText, Text: text}
	}
	parent, _, err := h.Send(ctx, events.SendCommand{UserID: member, ConversationID: conv, SendMessage: msg(strings.Repeat("é", 120))})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := h.Send(ctx, events.SendCommand{UserID: owner, ConversationID: elsewhere, SendMessage: msg("foreign")})
	if err != nil {
		t.Fatal(err)
	}

	reply := msg("reply")
	reply.ReplyTo, reply.Mentions, reply.MentionAll = parent.ID, []string{member, member, other}, true
	got, created, err := h.Send(ctx, events.SendCommand{UserID: owner, ConversationID: conv, SendMessage: reply})
	if err != nil || !created {
		t.Fatal(err)
	}
	wantReply := events.ReplyTo{ID: parent.ID, Seq: parent.Seq, SenderID: member, Type: events.MessageText, TextPreview: strings.Repeat("é", 100)}
	if got.ReplyTo == nil || *got.ReplyTo != wantReply || !slices.Equal(got.Mentions, []string{member, other}) || !got.MentionAll {
		t.Fatalf("answer: %+v", got)
	}
	facts := pub.Published(events.TypeMessageCreated)
	f, err := events.Decode[events.MessageFact](facts[len(facts)-1])
	if err != nil || f.Message.ID != got.ID || f.Message.ReplyTo == nil || *f.Message.ReplyTo != wantReply ||
		!slices.Equal(f.Message.Mentions, got.Mentions) || !f.Message.MentionAll || f.Message.Seq != got.Seq {
		t.Fatalf("fact: %+v %v", f.Message, err)
	}

	// Refusals, each with its code and field; nothing stored.
	for _, c := range []struct {
		user  string
		body  func(*events.SendMessage)
		code  events.Code
		field string
	}{
		{owner, func(m *events.SendMessage) { m.ReplyTo = "no-such-message" }, events.CodeInvalidArgument, "reply_to"},
		{owner, func(m *events.SendMessage) { m.ReplyTo = foreign.ID }, events.CodeInvalidArgument, "reply_to"},
		{owner, func(m *events.SendMessage) { m.Mentions = []string{outsider} }, events.CodeInvalidArgument, "mentions"},
		{owner, func(m *events.SendMessage) { m.Mentions = []string{"a", "b", "c", "d"} }, events.CodeInvalidArgument, "mentions"},
		{owner, func(m *events.SendMessage) { m.Mentions = []string{""} }, events.CodeInvalidArgument, "mentions"},
		{member, func(m *events.SendMessage) { m.MentionAll = true }, events.CodeForbidden, ""},
		{outsider, func(m *events.SendMessage) { m.ReplyTo = parent.ID }, events.CodeNotFound, ""},
	} {
		m := msg(fmt.Sprintf("refused-%s-%s-%v", c.code, c.field, c.user))
		c.body(&m)
		_, _, err := h.Send(ctx, events.SendCommand{UserID: c.user, ConversationID: conv, SendMessage: m})
		if e := events.AsError(err); e.Code != c.code || e.Field != c.field {
			t.Errorf("%+v: %v", c, err)
		}
	}
	var stored int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE text LIKE 'refused%'`).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("refused messages stored: %d %v", stored, err)
	}

	// The checks hold in the batched statement too: concurrent sends, half refused, none leaks.
	var wg sync.WaitGroup
	batch := make([]events.SendMessage, 40)
	for i := range batch {
		batch[i] = msg(fmt.Sprintf("batch-%d", i))
	}
	for i := range 40 {
		wg.Go(func() {
			m := batch[i]
			if i%2 == 1 {
				m.Mentions = []string{outsider}
			}
			_, _, err := h.Send(ctx, events.SendCommand{UserID: owner, ConversationID: conv, SendMessage: m})
			if (err == nil) != (i%2 == 0) {
				t.Errorf("batch %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE text LIKE 'batch-%'`).Scan(&stored); err != nil || stored != 20 {
		t.Fatalf("batched: %d stored, want 20 (%v)", stored, err)
	}

	// The broker path answers a refusal with im.command.rejected, as in v1.
	bad := msg("ws-all")
	bad.MentionAll = true
	cmd, _ := events.New("cmd-all", "/edge/test", events.TypeMessageSend, conv, events.SendCommand{UserID: member, ConversationID: conv, SendMessage: bad})
	cmd.SetExtension(events.ExtCorrelationID, "corr-all")
	code, rep := postEvent(t, hh, cmd)
	if code != 200 || rep == nil || rep.Type() != events.TypeCommandRejected {
		t.Fatalf("broker refusal: %d %v", code, rep)
	}
	if rj, err := events.Decode[events.CommandRejected](*rep); err != nil || rj.Code != events.CodeForbidden || rj.CorrelationID != "corr-all" {
		t.Fatalf("rejection: %+v %v", rj, err)
	}
}
