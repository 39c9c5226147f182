package edge

import (
	"time"

	"github.com/parley-im/parley/events"
)

// maxUnacked bounds the message pushes remembered per connection for resending; older ones are
// dropped (the client pulls what it lacks on reconnect).
const maxUnacked = 256

// maxPushedConvs bounds the conversations whose highest pushed seq a connection remembers (the most
// recently pushed ones); a repeat for a forgotten conversation is pushed again, and the client's own
// (conversation_id, seq) de-duplication drops it.
const maxPushedConvs = 256

// pushedSeqs is a connection's highest message seq pushed per conversation. Allocated on the first
// message push, so an idle connection costs one nil pointer.
type pushedSeqs struct {
	m    map[string]pushMark
	tick uint64
}

type pushMark struct {
	seq  int64
	tick uint64 // when last pushed, for evicting the least recent conversation
}

type unackedPush struct {
	conv   string
	seq    int64
	frame  []byte
	sentAt time.Time
	tries  int
}

// push queues a push frame; a message push (conv != "") is remembered until acked and resent after
// ResendTimeout, at most ResendAttempts times. A message push whose seq is not above the highest
// already pushed to this connection for conv is a duplicate and is dropped.
func (c *conn) push(frame []byte, conv string, seq int64) {
	if conv != "" && !c.firstPush(conv, seq) {
		return
	}
	if !c.enqueue(frame) {
		return
	}
	c.edge.stats.pushed.Add(1)
	if conv == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w.isClosing() {
		return
	}
	if len(c.unacked) >= maxUnacked {
		c.unacked = append(c.unacked[:0], c.unacked[1:]...)
	}
	c.unacked = append(c.unacked, unackedPush{conv: conv, seq: seq, frame: frame, sentAt: time.Now()})
	if c.resendTimer == nil {
		c.resendTimer = time.AfterFunc(c.edge.cfg.ResendTimeout, c.resend)
	}
}

// firstPush records seq as pushed for conv and reports whether it is above what was pushed before.
// A message without a seq cannot be ordered and always counts as first.
func (c *conn) firstPush(conv string, seq int64) bool {
	if seq <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pushed
	if p == nil {
		p = &pushedSeqs{m: make(map[string]pushMark, 4)}
		c.pushed = p
	}
	p.tick++
	mark, ok := p.m[conv]
	if ok && seq <= mark.seq {
		return false
	}
	if !ok && len(p.m) >= maxPushedConvs {
		oldest, at := "", uint64(1<<64-1)
		for k, v := range p.m {
			if v.tick < at {
				oldest, at = k, v.tick
			}
		}
		delete(p.m, oldest)
	}
	p.m[conv] = pushMark{seq: seq, tick: p.tick}
	return true
}

// ack forgets the message pushes of conv up to seq (acks are cumulative).
func (c *conn) ack(conv string, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := c.unacked[:0]
	for _, u := range c.unacked {
		if u.conv != conv || u.seq > seq {
			keep = append(keep, u)
		}
	}
	clear(c.unacked[len(keep):])
	c.unacked = keep
	if len(keep) == 0 {
		c.unacked = nil
		if c.resendTimer != nil {
			c.resendTimer.Stop()
			c.resendTimer = nil
		}
	}
}

// resend runs on the connection's resend timer.
func (c *conn) resend() {
	cfg := &c.edge.cfg
	now := time.Now()
	var again [][]byte
	c.mu.Lock()
	if c.w.isClosing() || c.resendTimer == nil {
		c.mu.Unlock()
		return
	}
	keep := c.unacked[:0]
	next := cfg.ResendTimeout
	for _, u := range c.unacked {
		if age := now.Sub(u.sentAt); age < cfg.ResendTimeout {
			next = min(next, cfg.ResendTimeout-age)
			keep = append(keep, u)
			continue
		}
		if u.tries >= cfg.ResendAttempts {
			continue // give up: the client pulls on reconnect
		}
		u.tries++
		u.sentAt = now
		again = append(again, u.frame)
		keep = append(keep, u)
	}
	clear(c.unacked[len(keep):])
	c.unacked = keep
	if len(keep) == 0 {
		c.unacked, c.resendTimer = nil, nil
	} else {
		c.resendTimer.Reset(next)
	}
	c.mu.Unlock()
	for _, f := range again {
		if c.enqueue(f) {
			c.edge.stats.resent.Add(1)
		}
	}
}

// ackFrame handles a small ack on its own budget: over it the ack is ignored and counted (the next
// admitted ack covers it, being cumulative); a malformed one is answered like any bad frame and so
// pays a frame token, or the ack budget would buy error frames.
func (c *conn) ackFrame(f events.Frame) {
	if !c.allowAck() {
		c.edge.stats.acksIgnored.Add(1)
		return
	}
	if err := c.applyAck(f); err != nil {
		if !c.allow() {
			c.rateLimited()
			return
		}
		c.sendError(f.ID, err)
	}
}

func (c *conn) applyAck(f events.Frame) error {
	var a events.ReadFrame
	if err := decodeData(f.Data, &a); err != nil {
		return err
	}
	if a.ConversationID == "" {
		return events.Invalid("conversation_id", "is required")
	}
	c.edge.stats.acks.Add(1)
	c.ack(a.ConversationID, a.Seq)
	return nil
}
