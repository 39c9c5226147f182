package edge

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/auth"
)

// closeGrace is how long a connection waits for the client's close reply (and drains its unread
// input, so the kernel does not answer with a reset that would hide the close frame) before the TCP
// connection is dropped.
const closeGrace = 2 * time.Second

// conn is one authenticated WebSocket connection.
//
// Ownership: readLoop owns the reading side and the two token buckets (tokens, ackTokens, last).
// The outbound queue and the close state are the writer's, under its own lock (writer.go). What is
// under mu (heartbeat, unacked pushes and resends, seq memory) is shared between the delivery path
// and the timers; mu may be held while taking the writer's lock, never the reverse. pending is
// guarded by the edge's pendingCommands lock.
type conn struct {
	edge      *Edge
	ws        *websocket.Conn
	raw       *coalescingConn
	id        string // connection id: the session part of correlation ids
	sessionID string // auth session (sid), sent in hello; equals id when the token has none
	userID    string
	expiresAt int64 // token expiry, unix nanoseconds (0: none); a time.Time would take 16 bytes more
	// the trace of the upgrade request, for the connection's log lines (ids only: 24 bytes)
	traceID trace.TraceID
	spanID  trace.SpanID
	// ctx ends when the connection does: when the server starts closing it (no answer can reach it
	// any more) or when its read loop ends. Its command publishes and presence update run under it.
	ctx    context.Context
	cancel context.CancelFunc

	// reader-owned: the frame budget, the ack budget, and when both were last refilled (nanoseconds
	// on the edge's monotonic clock: 8 bytes where a time.Time takes 24, for every idle connection)
	tokens    float64
	ackTokens float64
	last      int64

	w writer

	mu sync.Mutex
	// guarded by edge.cmds.mu, not mu: this connection's send/read/revoke frames awaiting their
	// answer (beside the mutex, in what would be padding)
	pending     int32
	hb          *time.Timer
	unacked     []unackedPush
	resendTimer *time.Timer
	pushed      *pushedSeqs // nil until the first message push
}

func newConn(e *Edge, ws *websocket.Conn, raw *coalescingConn, p auth.Principal, sc trace.SpanContext) *conn {
	id := newID()
	sid := p.SessionID
	if sid == "" {
		sid = id
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{edge: e, ws: ws, raw: raw, id: id, sessionID: sid, userID: p.UserID, expiresAt: unixNano(p.ExpiresAt),
		traceID: sc.TraceID(), spanID: sc.SpanID(), ctx: ctx, cancel: cancel,
		w:      writer{t: &wsTransport{ws: ws, raw: raw}, limit: e.cfg.OutboundQueueBytes, timeout: e.cfg.WriteTimeout},
		tokens: e.cfg.RateBurst, ackTokens: e.cfg.AckBurst, last: e.mono()}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// traceContext carries the connection's trace (its upgrade request), so the logger stamps trace_id
// on the connection's own log lines (closes).
func (c *conn) traceContext() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: c.traceID, SpanID: c.spanID, TraceFlags: trace.FlagsSampled})
	if !sc.IsValid() {
		return context.Background()
	}
	return trace.ContextWithSpanContext(context.Background(), sc)
}

// enqueue queues one frame for writing without blocking. It returns false when the frame was not
// queued: the connection is closing, or the frame would pass the queue bound, in which case the
// connection is closed with 4009 (slow consumer) and its queue dropped.
func (c *conn) enqueue(frame []byte) bool {
	r, queued := c.w.enqueue(frame, disconnectSlow)
	switch r {
	case enqueued:
		return true
	case overflowed:
		c.closed(disconnectSlow)
		c.edge.stats.slowClosed.Add(1)
		c.edge.log.WarnContext(c.traceContext(), "connection closed: slow consumer", "close_code", events.CloseSlowConsumer,
			"conn", c.id, "user", c.userID, "queued_bytes", queued, "frame_bytes", len(frame))
	}
	return false
}

// closeWith closes the connection for d after the frames already queued. Safe from any goroutine;
// only the first call counts.
func (c *conn) closeWith(d events.Disconnect) {
	if c.w.close(d) {
		c.closed(d)
	}
}

// closed runs once, when the writer started closing for d: it counts the close, ends the
// connection's context and stops the heartbeat (after the writer is closing, so beat cannot re-arm it).
func (c *conn) closed(d events.Disconnect) {
	c.edge.stats.closes[closeKindOf(d.Code)].Add(1)
	c.cancel()
	c.mu.Lock()
	if c.hb != nil {
		c.hb.Stop()
	}
	c.mu.Unlock()
}

// startHeartbeat arms the connection's one timer: it pings every HeartbeatInterval and closes with
// 4001 when the token expires.
func (c *conn) startHeartbeat() {
	c.mu.Lock()
	if !c.w.isClosing() {
		c.hb = time.AfterFunc(c.nextBeat(), c.beat)
	}
	c.mu.Unlock()
}

func (c *conn) nextBeat() time.Duration {
	d := c.edge.cfg.HeartbeatInterval
	if c.expiresAt != 0 {
		d = min(d, max(time.Until(time.Unix(0, c.expiresAt)), time.Millisecond))
	}
	return d
}

func (c *conn) beat() {
	if c.expiresAt != 0 && time.Now().UnixNano() >= c.expiresAt {
		c.closeWith(disconnectExpired)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w.ping() {
		c.hb.Reset(c.nextBeat())
	}
}

func (c *conn) extendRead() {
	_ = c.ws.SetReadDeadline(time.Now().Add(2*c.edge.cfg.HeartbeatInterval + 5*time.Second))
}

// refill tops up both token buckets for the time since the last frame. Reader-owned.
func (c *conn) refill() {
	now := c.edge.mono()
	elapsed := float64(now-c.last) / float64(time.Second)
	c.last = now
	cfg := &c.edge.cfg
	c.tokens = min(cfg.RateBurst, c.tokens+elapsed*cfg.RateLimit)
	c.ackTokens = min(cfg.AckBurst, c.ackTokens+elapsed*cfg.AckRateLimit)
}

// allow takes one token of the frame budget: RateLimit frames per second, bursts of RateBurst.
// Every frame but a well-formed ack pays it; a client over it is closed with 4008.
func (c *conn) allow() bool {
	c.refill()
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// allowAck takes one token of the ack budget (AckRateLimit, AckBurst), which is separate so that
// acking every push of a busy conversation never spends the frame budget. Over it an ack is ignored,
// not punished: acks are cumulative, so the next one admitted covers it.
func (c *conn) allowAck() bool {
	c.refill()
	if c.ackTokens < 1 {
		return false
	}
	c.ackTokens--
	return true
}

// rateLimited closes the connection with 4008 (frame budget spent). Reader-owned.
func (c *conn) rateLimited() {
	c.edge.stats.rateClosed.Add(1)
	c.edge.log.WarnContext(c.traceContext(), "connection closed: rate limited", "close_code", events.CloseRateLimited,
		"conn", c.id, "user", c.userID, "rate", c.edge.cfg.RateLimit, "burst", c.edge.cfg.RateBurst)
	c.closeWith(disconnectRateLimited)
}

func (c *conn) isClosing() bool { return c.w.isClosing() }

// readLoop reads frames until the connection ends, then unregisters it.
func (c *conn) readLoop() {
	defer c.finish()
	c.ws.SetReadLimit(c.edge.cfg.MaxFrameBytes)
	c.ws.SetPongHandler(func(string) error { c.extendRead(); return nil })
	c.extendRead()
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.extendRead()
		if c.isClosing() {
			continue // waiting for the client's close reply; input is discarded
		}
		if mt != websocket.TextMessage {
			if c.allow() {
				c.closeWith(disconnectNotText)
			} else {
				c.rateLimited()
			}
			continue
		}
		c.handle(data)
	}
}

// handle runs handleFrame on a short-lived goroutine and waits for it, so frames are still handled
// one at a time in arrival order. Why: a goroutine's stack grows to the deepest call it ever made and
// shrinks only at a GC, which an idle edge rarely runs; decoding and answering a frame (JSON, the
// command path) needs several times the stack that waiting in ReadMessage does, so every connection
// that had pinged once kept a doubled stack: measured +5-8 KB per connection at 3,000 connections.
// The handler goroutines' stacks return to the runtime's cache the moment they end.
func (c *conn) handle(data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.handleFrame(data)
	}()
	<-done
}

// readFailed ends reading. A connection the server was not already closing ended by the client
// (a close frame: counted as normal), by the network or a missed heartbeat (1006), or by an
// oversized frame (1009).
func (c *conn) readFailed(err error) {
	if errors.Is(err, websocket.ErrReadLimit) {
		// gorilla has already sent close 1009.
		if !c.w.stop(true) {
			c.edge.stats.closes[closeTooBig].Add(1)
		}
		// Read the rest of the oversized frame before closing: closing with unread input makes the
		// kernel send a reset that can overtake the close frame.
		_ = c.raw.Conn.SetReadDeadline(time.Now().Add(closeGrace))
		_, _ = io.Copy(io.Discard, c.raw.Conn)
		return
	}
	// The writer is closing from here: a closeWith (4009 from a delivery, say) neither starts nor counts.
	if !c.w.stop(false) {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			c.edge.stats.closes[closeNormal].Add(1)
		} else {
			c.edge.stats.closes[closeLost].Add(1)
		}
	}
}

// finish runs once, when the read loop ends.
func (c *conn) finish() {
	c.w.drop()
	c.mu.Lock()
	if c.hb != nil {
		c.hb.Stop()
	}
	if c.resendTimer != nil {
		c.resendTimer.Stop()
	}
	c.unacked, c.pushed = nil, nil
	c.mu.Unlock()
	c.cancel()
	_ = c.raw.Close()
	if c.userID != "" {
		c.edge.hub.remove(c)
		c.edge.stats.connections.Add(-1)
		c.edge.disconnected(c)
	}
	c.edge.conns.Done()
}

// coalescingConn lets the writer turn many WebSocket frames into one write: between begin and flush,
// writes are appended to a pooled buffer. Outside a batch it passes writes through, so gorilla's
// concurrent control frames (pong, close) go straight out. mu orders the batch against them.
type coalescingConn struct {
	net.Conn
	pool *sync.Pool

	mu       sync.Mutex
	batching bool
	buf      *[]byte
}

// maxPooledBatch: bigger batch buffers are left to the GC rather than kept in the pool.
const maxPooledBatch = 64 << 10

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// SetWriteDeadline is ignored inside a batch: flush sets the deadline of the real write.
func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *coalescingConn) begin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = true
	if b, ok := c.pool.Get().(*[]byte); ok {
		c.buf = b
		*c.buf = (*c.buf)[:0]
	} else {
		b := make([]byte, 0, 4096)
		c.buf = &b
	}
}

func (c *coalescingConn) flush(deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = false
	b := c.buf
	c.buf = nil
	var err error
	if len(*b) > 0 {
		if err = c.Conn.SetWriteDeadline(deadline); err == nil {
			_, err = c.Conn.Write(*b)
		}
	}
	if cap(*b) <= maxPooledBatch {
		c.pool.Put(b)
	}
	return err
}
