// Package check holds the "nothing lost" delivery check shared by every e2e scenario and by the fault
// tests: every message the server acknowledged is stored, reaches every member by push or by pull
// (history), is shown once, and in seq order.
package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// Ledger records what a scenario was told and what it saw: the messages the server acknowledged
// (a 2xx send or a result frame) and every message push each connection received. Safe for concurrent use.
type Ledger struct {
	mu     sync.Mutex
	acked  map[string]events.Message            // message id -> message
	pushes map[string]*receiver                 // receiver key -> what it saw
	convs  map[string]map[string]events.Message // conversation -> id -> acked
	wrong  []error                              // answers that named another send's message
	edits  map[string]events.Message            // message id -> the latest edit answered (v1.1)
}

type receiver struct {
	userID string
	seen   []events.Message          // in arrival order
	edited map[string]events.Message // message id -> the latest message.edited push (v1.1)
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{
		acked:  map[string]events.Message{},
		pushes: map[string]*receiver{},
		convs:  map[string]map[string]events.Message{},
		edits:  map[string]events.Message{},
	}
}

// Edited records the server's answer m to an edit (v1.1). The latest edit (by edited_at) is the text
// every member must see in history and, with PushRequired, in a message.edited push.
func (l *Ledger) Edited(m events.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.edits[m.ID]; ok && prev.EditedAt != nil && (m.EditedAt == nil || !m.EditedAt.After(*prev.EditedAt)) {
		return
	}
	l.edits[m.ID] = m
}

// Acked records the server's answer m to a send of clientMsgID into conversation conv. An answer
// that names another message (another client_msg_id or conversation, or a message already given as
// the answer to a different send) is a wrong answer: NothingLost fails on it.
func (l *Ledger) Acked(conv, clientMsgID string, m events.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m.ClientMsgID != clientMsgID || m.ConversationID != conv {
		l.wrong = append(l.wrong, fmt.Errorf("wrong answer: send %s to %s answered with message %s (%s in %s, seq %d)",
			clientMsgID, conv, m.ID, m.ClientMsgID, m.ConversationID, m.Seq))
		return
	}
	if prev, ok := l.acked[m.ID]; ok && prev.ClientMsgID != clientMsgID {
		l.wrong = append(l.wrong, fmt.Errorf("wrong answer: message %s answered both %s and %s", m.ID, prev.ClientMsgID, clientMsgID))
		return
	}
	l.acked[m.ID] = m
	if l.convs[m.ConversationID] == nil {
		l.convs[m.ConversationID] = map[string]events.Message{}
	}
	l.convs[m.ConversationID][m.ID] = m
}

// Pushed records a message push received by connection key of user userID.
func (l *Ledger) Pushed(userID, key string, m events.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.pushes[key]
	if r == nil {
		r = &receiver{userID: userID}
		l.pushes[key] = r
	}
	r.seen = append(r.seen, m)
}

// Watch records every message push of conn (a tap: call it right after Dial, before sending).
// key names the connection in reports; it must be unique per connection.
func (l *Ledger) Watch(userID, key string, conn *client.Conn) {
	l.mu.Lock()
	if l.pushes[key] == nil {
		l.pushes[key] = &receiver{userID: userID}
	}
	l.mu.Unlock()
	conn.OnFrame(func(f events.Frame) {
		switch f.Type {
		case events.FrameMessage:
			if m, err := client.DecodeMessage(f); err == nil {
				l.Pushed(userID, key, m)
			}
		case events.FrameMessageEdited:
			if m, err := client.DecodeMessage(f); err == nil {
				l.pushedEdit(key, m)
			}
		}
	})
}

// pushedEdit records a message.edited push, keeping the latest edit per message.
func (l *Ledger) pushedEdit(key string, m events.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.pushes[key]
	if r.edited == nil {
		r.edited = map[string]events.Message{}
	}
	if prev, ok := r.edited[m.ID]; ok && prev.EditedAt != nil && (m.EditedAt == nil || !m.EditedAt.After(*prev.EditedAt)) {
		return
	}
	r.edited[m.ID] = m
}

// AckedCount returns how many messages were acknowledged.
func (l *Ledger) AckedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// AckedIn returns how many messages of conversation conv were acknowledged.
func (l *Ledger) AckedIn(conv string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.convs[conv])
}

// PushCount returns how many message pushes connection key has received.
func (l *Ledger) PushCount(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.pushes[key]; r != nil {
		return len(r.seen)
	}
	return 0
}

// Options relax the check for fault tests.
type Options struct {
	// AllowDuplicatePushes accepts a message pushed more than once to one connection (the edge resends
	// unacked pushes after a restart); the client still shows it once because it dedupes by seq.
	AllowDuplicatePushes bool
	// PushRequired: every connection must have received every acked message of its conversations by
	// push (no fault happened, so pull must not be needed).
	PushRequired bool
}

// Member is a user whose view is checked, with a client to pull history as that user.
type Member struct {
	UserID string
	API    *client.Client
}

// Report is what NothingLost found, for logs.
type Report struct {
	Acked        int
	WrongAnswers int // answers that named another send's message (each is also an error)
	Pushes       int
	PulledOnly   int // (connection, message) pairs that came only from history
	DupPushes    int
	Conversation map[string]int64 // conversation -> last seq seen in history
	Edited       int              // messages edited (v1.1), each checked in every history and push
}

// NothingLost checks the ledger against the server:
//   - every answer named the message its own send stored (see Acked);
//   - every acked message is stored: the history (as seen by a member) has it at its seq, same id,
//     same client_msg_id, and the history is gapless from 1;
//   - every member of its conversation gets it: each connection watched for that member has it by
//     push, or else it is in that member's pulled history (push ∪ pull covers everything);
//   - it is shown once: no seq maps to two messages, no message to two seqs, and (unless allowed)
//     no connection got the same message pushed twice;
//   - in order: each connection's pushes of one conversation come in increasing seq;
//   - edits are not lost (v1.1): every member's history shows each edited message's latest
//     answered text, and with PushRequired every watched connection got a message.edited push of it.
//
// members are the users to check; conversations they are not in are skipped for them. It returns
// every violation found, joined.
func NothingLost(ctx context.Context, l *Ledger, members []Member, opt Options) (Report, error) {
	l.mu.Lock()
	convs := map[string][]events.Message{}
	for cid, ms := range l.convs {
		for _, m := range ms {
			convs[cid] = append(convs[cid], m)
		}
	}
	type conn struct {
		key    string
		userID string
		seen   []events.Message
		edited map[string]events.Message
	}
	var conns []conn
	for k, r := range l.pushes {
		edited := map[string]events.Message{}
		for id, m := range r.edited {
			edited[id] = m
		}
		conns = append(conns, conn{k, r.userID, append([]events.Message(nil), r.seen...), edited})
	}
	edits := map[string]events.Message{}
	for id, m := range l.edits {
		edits[id] = m
	}
	errs := append([]error(nil), l.wrong...)
	l.mu.Unlock()
	sort.Slice(conns, func(i, j int) bool { return conns[i].key < conns[j].key })

	rep := Report{Conversation: map[string]int64{}, WrongAnswers: len(errs), Edited: len(edits)}
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// Each member's view of history, per conversation it belongs to.
	hist := map[string]map[string]map[int64]events.Message{} // user -> conversation -> seq -> message
	for _, mb := range members {
		hist[mb.UserID] = map[string]map[int64]events.Message{}
		for cid := range convs {
			msgs, err := mb.API.AllHistory(ctx, cid)
			if client.CodeOf(err) == events.CodeNotFound {
				continue // not a member: nothing to check for this user here
			}
			if err != nil {
				fail("history of %s as %s: %v", cid, mb.UserID, err)
				continue
			}
			bySeq := map[int64]events.Message{}
			byID := map[string]int64{}
			for i, m := range msgs {
				// A later joiner's history may start past seq 1, but it is gapless from there on.
				if i > 0 && m.Seq != msgs[i-1].Seq+1 {
					fail("history of %s as %s: seq %d after %d (gap or disorder)", cid, mb.UserID, m.Seq, msgs[i-1].Seq)
				}
				if prev, ok := bySeq[m.Seq]; ok && prev.ID != m.ID {
					fail("history of %s: seq %d is both %s and %s", cid, m.Seq, prev.ID, m.ID)
				}
				if s, ok := byID[m.ID]; ok && s != m.Seq {
					fail("history of %s: message %s at seqs %d and %d", cid, m.ID, s, m.Seq)
				}
				bySeq[m.Seq], byID[m.ID] = m, m.Seq
				if m.Seq > rep.Conversation[cid] {
					rep.Conversation[cid] = m.Seq
				}
			}
			hist[mb.UserID][cid] = bySeq
		}
	}

	// Stored: every acked message appears, at its seq, in every member's history that has the conversation.
	for cid, acked := range convs {
		rep.Acked += len(acked)
		for _, mb := range members {
			bySeq, ok := hist[mb.UserID][cid]
			if !ok {
				continue
			}
			for _, m := range acked {
				got, ok := bySeq[m.Seq]
				switch {
				case !ok:
					fail("lost: message %s (seq %d) of %s acked but not in %s's history", m.ID, m.Seq, cid, mb.UserID)
				case got.ID != m.ID || got.ClientMsgID != m.ClientMsgID:
					fail("seq %d of %s: acked %s/%s, history has %s/%s", m.Seq, cid, m.ID, m.ClientMsgID, got.ID, got.ClientMsgID)
				}
				if e, edited := edits[m.ID]; ok && edited && got.Status == events.StatusNormal && got.Text != e.Text {
					fail("edit lost: %s's history shows message %s as %q, last edit %q", mb.UserID, m.ID, got.Text, e.Text)
				}
			}
		}
	}

	// Delivered once, in order, per watched connection.
	for _, c := range conns {
		rep.Pushes += len(c.seen)
		count := map[string]int{}
		last := map[string]int64{}
		for _, m := range c.seen {
			count[m.ID]++
			if count[m.ID] > 1 {
				rep.DupPushes++
				if !opt.AllowDuplicatePushes {
					fail("duplicate: %s got message %s (seq %d) %d times", c.key, m.ID, m.Seq, count[m.ID])
				}
				continue
			}
			if m.Seq <= last[m.ConversationID] {
				fail("order: %s got seq %d of %s after seq %d", c.key, m.Seq, m.ConversationID, last[m.ConversationID])
			}
			last[m.ConversationID] = m.Seq
			if a, ok := l.ackedMessage(m.ID); ok && a.Seq != m.Seq {
				fail("%s got message %s at seq %d, acked at %d", c.key, m.ID, m.Seq, a.Seq)
			}
		}
		userHist, checked := hist[c.userID]
		if !checked {
			continue
		}
		for cid, acked := range convs {
			bySeq, member := userHist[cid]
			if !member {
				continue
			}
			for _, m := range acked {
				if e, edited := edits[m.ID]; edited && opt.PushRequired {
					if p, ok := c.edited[m.ID]; !ok || p.Text != e.Text {
						fail("edit not pushed: %s never got message.edited of %s with its last text %q", c.key, m.ID, e.Text)
					}
				}
				if count[m.ID] > 0 {
					continue
				}
				if opt.PushRequired {
					fail("not pushed: %s never got message %s (seq %d) of %s", c.key, m.ID, m.Seq, cid)
					continue
				}
				if _, ok := bySeq[m.Seq]; ok {
					rep.PulledOnly++
				} else {
					fail("lost for %s: message %s (seq %d) of %s neither pushed nor pullable", c.key, m.ID, m.Seq, cid)
				}
			}
		}
	}
	return rep, errors.Join(errs...)
}

func (l *Ledger) ackedMessage(id string) (events.Message, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.acked[id]
	return m, ok
}
