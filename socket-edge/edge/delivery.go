package edge

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
)

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
	if h := deliveryHandlers[ev.Type]; h != nil {
		h(e, d)
		return
	}
	e.pushAll(d)
}

// deliveryHandlers are the delivered event types the edge acts on other than by a push; every other
// type goes through the fact type -> push frame table (events.PushFrameOf), so a new pushed type
// needs no line here.
var deliveryHandlers = map[string]func(*Edge, events.Delivery){
	events.TypeSessionRevoked: (*Edge).endSessions,
	events.TypeUserDeleted:    (*Edge).closeDeleted,
}

// pushAll renders d's event once as the push frame the table names and queues it to every
// recipient connection but the excepted session.
func (e *Edge) pushAll(d events.Delivery) {
	ev := d.Event
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

// closeDeleted closes every connection of a deleted user (and of the delivery's recipients) with 4003.
func (e *Edge) closeDeleted(d events.Delivery) {
	var u events.UserDeleted
	_ = json.Unmarshal(d.Event.Data, &u)
	users := append([]string{u.UserID}, d.Recipients...)
	for _, uid := range users {
		if uid != "" {
			e.hub.each(uid, func(c *conn) { c.closeWith(disconnectDeleted) })
		}
	}
}

// endSessions pushes session.revoked and closes: only the named session when session_id is set,
// every connection of the user otherwise. A ban or deletion closes with 4003, the rest with 4001.
func (e *Edge) endSessions(d events.Delivery) {
	var s events.SessionRevoked
	if err := json.Unmarshal(d.Event.Data, &s); err != nil || s.UserID == "" {
		return
	}
	why := disconnectRevoked
	if events.SessionEndIsFinal(s.Reason) {
		why = disconnectEnded
	}
	frame := renderFrame(events.FrameSessionRevoked, "", d.Event.Data)
	e.hub.each(s.UserID, func(c *conn) {
		if s.SessionID != "" && c.sessionID != s.SessionID && c.id != s.SessionID {
			return
		}
		c.enqueue(frame)
		c.closeWith(why)
	})
}
