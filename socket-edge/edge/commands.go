package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
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
		c.closeWith(events.ClosePolicy, "frames must be JSON")
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

// errNotJSON: the frame is not JSON at all (the connection is closed with 1008).
var errNotJSON = errors.New("frame is not JSON")

// parseFrame decodes one client frame: errNotJSON for bytes that are not JSON, an invalid_argument
// error for JSON that is not a frame object.
func parseFrame(data []byte) (events.Frame, error) {
	// Unmarshal checks the whole text before decoding: a syntax error is "not JSON" (a separate
	// json.Valid pass cost a third of the parse, on every ack).
	var f events.Frame
	if err := json.Unmarshal(data, &f); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return events.Frame{}, errNotJSON
		}
		return events.Frame{}, events.Invalid("frame", "must be an object {type, id?, data?}")
	}
	return f, nil
}

// decodeData reads a frame's data; unknown fields are ignored (clients may be newer than the edge).
func decodeData(data json.RawMessage, v any) error {
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return events.Invalid("data", "is required")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return events.Invalid("data", "does not match the frame type")
	}
	return nil
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
	ctx, span := e.tracer.Start(context.Background(), "publish "+typ, opts...)
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

// sendError answers frame id with an error frame.
func (c *conn) sendError(id string, err error) {
	ee := events.AsError(err)
	msg := ee.Message
	if ee.Field != "" {
		msg = ee.Field + ": " + msg
	}
	data, _ := json.Marshal(events.ErrorFrame{Code: ee.Code, Message: msg})
	c.enqueue(renderFrame(events.FrameError, id, data))
}

// renderFrame encodes {"type","id"?,"data"?} once; the result is shared by every recipient.
func renderFrame(typ, id string, data []byte) []byte {
	b := make([]byte, 0, len(typ)+len(id)+len(data)+32)
	b = append(b, `{"type":"`...)
	b = append(b, typ...) // frame types are constants without characters JSON must escape
	b = append(b, '"')
	if id != "" {
		q, _ := json.Marshal(id)
		b = append(b, `,"id":`...)
		b = append(b, q...)
	}
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}')
}

// pendingCommands are the frames waiting for their answer, by correlation id. Its lock also guards
// every conn.pending, so both caps are checked and taken in one step.
type pendingCommands struct {
	mu sync.Mutex
	m  map[string]*pendingCmd
}

// pendingCmd is one frame awaiting its answer, with what its answer's metrics and log lines need.
type pendingCmd struct {
	c       *conn
	frameID string
	corr    string
	eventID string
	typ     string
	start   time.Time
	span    trace.SpanContext // the command's trace, for the log line of an unavailable answer
	timer   *time.Timer
	permit  adaptivelimiter.Permit // a send's place under the adaptive limit (nil: none held)
}

func newPendingCommands() *pendingCommands {
	return &pendingCommands{m: map[string]*pendingCmd{}}
}

// add registers pc unless its connection already has perConn frames waiting (shedConn) or the
// instance has perEdge (shedEdge), and arms its timeout. A frame id reused while the first frame
// still waits replaces it (both share one correlation id, so one answer is all they can get).
func (p *pendingCommands) add(pc *pendingCmd, perConn, perEdge int, timeout time.Duration, expire func(*pendingCmd)) shedReason {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.m[pc.corr]
	if old == nil {
		if int(pc.c.pending) >= perConn {
			return shedConn
		}
		if len(p.m) >= perEdge {
			return shedEdge
		}
	} else {
		p.removeLocked(old)
		old.releasePermit(false) // replaced: never answered on its own
	}
	p.m[pc.corr] = pc
	pc.c.pending++
	pc.timer = time.AfterFunc(timeout, func() { expire(pc) })
	return admitted
}

// take removes and returns the pending command, or nil when it was answered or timed out already.
func (p *pendingCommands) take(corr string) *pendingCmd {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.m[corr]
	if pc != nil {
		p.removeLocked(pc)
	}
	return pc
}

// takeIf removes pc if it is still the command waiting under its correlation id (a timer or a failed
// publish must not take the frame that replaced it).
func (p *pendingCommands) takeIf(corr string, pc *pendingCmd) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[corr] != pc {
		return false
	}
	p.removeLocked(pc)
	return true
}

func (p *pendingCommands) removeLocked(pc *pendingCmd) {
	delete(p.m, pc.corr)
	pc.c.pending--
	pc.timer.Stop()
}

// len is the number of frames awaiting their answer on this instance.
func (p *pendingCommands) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
