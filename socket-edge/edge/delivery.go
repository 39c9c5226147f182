package edge

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
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

// consume reads im.delivery with this instance's own consumer group ("socket-edge-<EdgeID>") from
// the newest offset (the edge only pushes to live connections) and delivers every record. Partitions
// run in parallel; Deliver never blocks, so one slow client cannot hold a partition. Offsets are
// committed once a second, not per record (measured: a commit per record was 8 % of the edge's CPU at
// 150 msg/s); a restarted edge reads up to a second again, whose repeats its connections drop by seq.
func (e *Edge) consume(ctx context.Context) error {
	start := kafka.LastOffset
	if e.cfg.DeliveryFromStart {
		start = kafka.FirstOffset
	}
	cons, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers:        e.cfg.KafkaBrokers,
		Security:       e.cfg.KafkaSecurity,
		Topics:         []string{e.cfg.DeliveryTopic},
		GroupID:        "socket-edge-" + e.cfg.EdgeID,
		StartOffset:    start,
		MaxWait:        250 * time.Millisecond,
		CommitInterval: time.Second,
		Logger:         e.log,
	})
	if err != nil {
		return err
	}
	return cons.Run(ctx, func(ctx context.Context, cl *kafka.Claim) error {
		e.consuming.Add(1)
		defer e.consuming.Add(-1)
		for {
			m, err := cl.Fetch(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			e.deliverRecord(m)
			cl.Commit(m.Offset)
		}
	})
}

func (e *Edge) deliverRecord(m kafka.Message) {
	ev, err := m.Event()
	if err != nil {
		e.log.Warn("im.delivery record is not a CloudEvent; skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
		return
	}
	if ev.Type() != events.TypeDelivery {
		return
	}
	d, err := events.Decode[events.Delivery](ev)
	if err != nil {
		e.log.Warn("bad delivery; skipped", "id", ev.ID(), "err", err)
		return
	}
	e.Deliver(d)
}

// Deliver pushes one delivery to the recipients this instance holds: the event is rendered into a
// frame once and the same bytes are queued to every connection. It also answers the frame the event
// correlates to, and applies session ends (im.session.revoked, im.user.deleted). A ReplyOnly
// delivery only answers the frame. A message push at or below the seq a connection was already
// pushed for that conversation is a repeat and is not written again. It never blocks.
func (e *Edge) Deliver(d events.Delivery) {
	e.stats.delivered.Add(1)
	ev := d.Event
	if !ev.Time.IsZero() {
		lag := time.Since(ev.Time)
		e.metrics.recordLag(lag)
		if ev.Type == events.TypeMessageCreated && !d.ReplyOnly {
			e.lag.observe(lag, time.Now())
		}
	}
	if ev.Type == events.TypeCommandRejected {
		e.answerRejection(ev)
		return
	}
	e.answerResult(ev)
	if d.ReplyOnly {
		return
	}
	switch ev.Type {
	case events.TypeSessionRevoked:
		e.endSessions(d)
		return
	case events.TypeUserDeleted:
		var u events.UserDeleted
		_ = json.Unmarshal(ev.Data, &u)
		users := append([]string{u.UserID}, d.Recipients...)
		for _, uid := range users {
			if uid != "" {
				e.hub.each(uid, func(c *conn) { c.closeWith(events.CloseBanned, "account deleted") })
			}
		}
		return
	}
	route, ok := events.PushFrameOf(ev.Type)
	if !ok {
		return
	}
	typ := route.FrameType(ev.Data)
	if typ == "" {
		return
	}
	var conv string
	var seq int64
	if route.Acked {
		conv, seq = ev.ConversationID, ev.Seq
		if conv == "" {
			// From a fanout older than DeliveredEvent's position fields (a rolling upgrade): read the
			// payload, as every delivery did before.
			e.stats.positionDecoded.Add(1)
			conv, seq = events.MessagePosition(ev.Data)
		}
	}
	frame := renderFrame(typ, "", ev.Data)
	for _, uid := range d.Recipients {
		e.hub.each(uid, func(c *conn) {
			if d.ExceptSession != "" && (c.sessionID == d.ExceptSession || c.id == d.ExceptSession) {
				return
			}
			c.push(frame, conv, seq)
		})
	}
}

// endSessions pushes session.revoked and closes: only the named session when session_id is set,
// every connection of the user otherwise. A ban or deletion closes with 4003, the rest with 4001.
func (e *Edge) endSessions(d events.Delivery) {
	var s events.SessionRevoked
	if err := json.Unmarshal(d.Event.Data, &s); err != nil || s.UserID == "" {
		return
	}
	code := events.CloseUnauthenticated
	if events.SessionEndIsFinal(s.Reason) {
		code = events.CloseBanned
	}
	frame := renderFrame(events.FrameSessionRevoked, "", d.Event.Data)
	e.hub.each(s.UserID, func(c *conn) {
		if s.SessionID != "" && c.sessionID != s.SessionID && c.id != s.SessionID {
			return
		}
		c.enqueue(frame)
		c.closeWith(code, "session revoked")
	})
}

// answerResult answers the frame a fact correlates to, when that frame waits on this instance.
func (e *Edge) answerResult(ev events.DeliveredEvent) {
	if ev.CorrelationID == "" || !strings.HasPrefix(ev.CorrelationID, e.cfg.EdgeID+"/") {
		return
	}
	pc := e.cmds.take(ev.CorrelationID)
	if pc == nil {
		return
	}
	e.answered(pc, outcomeResult)
	data := ev.Data
	if ev.Type == events.TypeConversationRead {
		var r events.ConversationRead
		if json.Unmarshal(ev.Data, &r) == nil {
			data, _ = json.Marshal(events.ReadResult{ConversationID: r.ConversationID, ReadSeq: r.Seq})
		}
	}
	pc.c.enqueue(renderFrame(events.FrameResult, pc.frameID, data))
}

// answerRejection turns im.command.rejected into an error frame for the frame it answers.
func (e *Edge) answerRejection(ev events.DeliveredEvent) {
	var r events.CommandRejected
	if err := json.Unmarshal(ev.Data, &r); err != nil {
		return
	}
	corr := ev.CorrelationID
	if corr == "" {
		corr = r.CorrelationID
	}
	cr, err := events.ParseCorrelation(corr)
	if err != nil || cr.Edge != e.cfg.EdgeID {
		return
	}
	ee := &events.Error{Code: r.Code, Message: r.Message}
	if pc := e.cmds.take(corr); pc != nil {
		waited := e.answered(pc, outcomeRejected)
		if r.Code == events.CodeUnavailable {
			// Typically the command's deadline passed before a function got to it.
			e.logUnavailable(pc, causeRejected, waited, ee)
		}
		pc.c.sendError(pc.frameID, ee)
		return
	}
	// Typing and call frames wait for nothing, but their refusal still answers them.
	e.hub.each(r.UserID, func(c *conn) {
		if c.id == cr.Conn {
			c.sendError(cr.FrameID(), ee)
		}
	})
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
	if c.closing {
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
	if c.closing || c.resendTimer == nil {
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
