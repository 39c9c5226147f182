package edge

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
)

// maxAckFrameBytes: a frame this small is parsed before it is charged, so that an ack can take the
// ack budget instead of the frame budget. A real ack is about 100 bytes; anything bigger pays the
// frame budget before it is parsed, so an ignored ack costs at most the decoding of 512 bytes.
const maxAckFrameBytes = 512

// handleFrame dispatches one client frame. Not valid JSON at all: close 1008. Valid JSON of the wrong
// shape, an unknown type or bad data: an error frame invalid_argument answering the frame's id.
// Every frame but a small well-formed ack spends the frame budget (over it: close 4008).
func (c *conn) handleFrame(data []byte) {
	small := len(data) <= maxAckFrameBytes
	if !small && !c.allow() {
		c.rateLimited()
		return
	}
	f, err := parseFrame(data)
	if errors.Is(err, errNotJSON) {
		c.closeWith(disconnectNotJSON)
		return
	}
	if small {
		if err == nil && f.Type == events.FrameAck {
			c.ackFrame(f)
			return
		}
		if !c.allow() {
			c.rateLimited()
			return
		}
	}
	if err != nil {
		c.sendError("", err)
		return
	}
	switch f.Type {
	case events.FramePing:
		c.enqueue(renderFrame(events.FramePong, f.ID, nil))
	case events.FrameAck: // too big for the ack path; already charged as a frame
		if err := c.applyAck(f); err != nil {
			c.sendError(f.ID, err)
		}
	case events.FrameSend:
		var s events.SendFrame
		if err := decodeData(f.Data, &s); err != nil {
			c.sendError(f.ID, err)
			return
		}
		c.command(f, events.TypeMessageSend, s.ConversationID,
			events.SendCommand{UserID: c.userID, ConversationID: s.ConversationID, SendMessage: s.SendMessage}, true)
	case events.FrameRead:
		var r events.ReadFrame
		if err := decodeData(f.Data, &r); err != nil {
			c.sendError(f.ID, err)
			return
		}
		c.command(f, events.TypeMessageRead, r.ConversationID,
			events.ReadCommand{UserID: c.userID, ConversationID: r.ConversationID, Seq: r.Seq}, true)
	case events.FrameRevoke:
		var r events.RevokeFrame
		if err := decodeData(f.Data, &r); err != nil {
			c.sendError(f.ID, err)
			return
		}
		c.command(f, events.TypeMessageRevoke, r.MessageID,
			events.RevokeCommand{UserID: c.userID, MessageID: r.MessageID}, true)
	case events.FrameTyping:
		var t events.TypingFrame
		if err := decodeData(f.Data, &t); err != nil {
			c.sendError(f.ID, err)
			return
		}
		c.command(f, events.TypeTypingUpdate, t.ConversationID,
			events.TypingCommand{UserID: c.userID, ConversationID: t.ConversationID, State: t.State}, false)
	case events.FrameCallInvite, events.FrameCallAccept, events.FrameCallReject, events.FrameCallOffer,
		events.FrameCallAnswer, events.FrameCallICE, events.FrameCallHangup:
		c.callFrame(f)
	case "":
		c.sendError(f.ID, events.Invalid("type", "is required"))
	default:
		c.sendError(f.ID, events.Invalid("type", "unknown frame type %q", f.Type))
	}
}

// command publishes a command CloudEvent for frame f, stamped with a deadline (now + CommandDeadline)
// after which the functions drop it unapplied, and publishes it within that deadline too. With answer, the
// frame is first admitted (see Edge.admit) and then answered when the resulting fact or rejection
// comes back through im.delivery (matched by correlation id), or with "unavailable" after
// CommandTimeout or when the publish fails. Without answer (typing, calls) only a rejection or a
// failed publish is answered.
func (c *conn) command(f events.Frame, typ, key string, data events.Validator, answer bool) {
	e := c.edge
	frameID := f.ID
	cr := events.Correlation{Edge: e.cfg.EdgeID, Conn: c.id, Frame: frameID}
	if frameID == "" {
		// A frame without id still needs a unique correlation; its answer carries no id.
		cr.Frame = events.AnonymousFrame(newID())
	}
	corr := cr.String()
	ev, err := events.New(uuid.Must(uuid.NewV7()).String(), e.source, typ, key, data)
	if err != nil {
		c.sendError(frameID, err)
		return
	}
	now := time.Now()
	deadline := now.Add(e.cfg.CommandDeadline)
	ev.SetExtension(events.ExtCorrelationID, corr)
	events.SetDeadline(&ev, deadline)

	// Each command is the root of its own trace (the publish carries it to the function); a link
	// ties it to the connection's trace without making that trace grow for the connection's life.
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		attribute.String("cloudevents.event_id", ev.ID()), attribute.String("cloudevents.event_type", typ),
		attribute.String("parley.correlation_id", corr))}
	if csc := trace.SpanContextFromContext(c.traceContext()); csc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: csc}))
	}
	ctx, span := e.tracer.Start(c.ctx, "publish "+typ, opts...)
	defer span.End()

	var pc *pendingCmd
	if answer {
		pc = &pendingCmd{c: c, frameID: frameID, corr: corr, eventID: ev.ID(), typ: typ, start: now, span: span.SpanContext()}
		if reason := e.admit(pc); reason != admitted {
			span.SetStatus(codes.Error, "shed: "+shedLabels[reason])
			e.shed(ctx, pc, reason)
			return
		}
	}
	// The read loop waits for the publish (it keeps one connection's commands in order and pushes
	// back on a client faster than the broker), but never past the deadline: after it the command
	// would be refused anyway, and the client hears "unavailable" within CommandDeadline.
	pctx, cancel := context.WithDeadline(ctx, deadline)
	err = e.deps.Producer.Publish(pctx, e.cfg.BrokerTopic, ev)
	cancel()
	if err == nil {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, "publish failed")
	if c.ctx.Err() != nil {
		// The connection ended during the publish: no answer can reach it (the client resends
		// unanswered frames after reconnecting).
		if answer && e.cmds.takeIf(corr, pc) {
			pc.releasePermit(false) // unanswered: its time says nothing about the path
		}
		return
	}
	if !answer {
		e.log.WarnContext(ctx, "command publish failed", "type", typ, "event_id", ev.ID(), "correlation_id", corr,
			"conn", c.id, "user", c.userID, "err", err)
		c.sendError(frameID, events.Errorf(events.CodeUnavailable, "cannot accept commands now; retry"))
		return
	}
	if e.cmds.takeIf(corr, pc) {
		e.answerUnavailable(pc, causePublish, err)
	}
}
