package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/events"
)

// FrameError is an error frame answering one of our frames.
type FrameError struct {
	events.ErrorFrame
	FrameID string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("error frame for %q: %s: %s", e.FrameID, e.Code, e.Message)
}

// ErrClosed is returned by Await and Request once the connection has ended; CloseError tells why.
var ErrClosed = errors.New("websocket closed")

// WSAuth says how a connection authenticates before the upgrade. Exactly one of Token and Ticket is
// used (Token first); both empty dials anonymously (the unauthenticated test).
type WSAuth struct {
	Token  string // sent as the subprotocol "bearer.<token>" beside "parley.v1"
	Header bool   // send Token as "Authorization: Bearer" instead of a subprotocol
	Ticket string // sent as ?ticket=
	Origin string // Origin header, when set
}

// DialOptions tunes Dial; the zero value is fine.
type DialOptions struct {
	// MailboxLimit bounds the frames kept for Await; past it the oldest are dropped and counted in
	// Dropped. Default 100,000.
	MailboxLimit int
	// LocalAddr, when set, is the source address (a 127.0.0.x).
	LocalAddr *net.TCPAddr
}

// Conn is one WebSocket connection to a socket-edge. A read goroutine decodes every frame, passes it
// to the taps (OnFrame) and keeps it in a mailbox that Await consumes; writes are serialized. All
// methods are safe for concurrent use.
type Conn struct {
	ws    *websocket.Conn
	hello events.Hello

	writeMu sync.Mutex
	nextID  atomic.Uint64

	mu       sync.Mutex
	mailbox  []events.Frame
	limit    int
	dropped  int
	changed  chan struct{} // closed and replaced whenever the mailbox or the state changes
	taps     []func(events.Frame)
	closed   bool
	closeErr error

	done chan struct{}
}

// Dial connects to edgeURL (for example "ws://127.0.0.1:8090"; the path /v1/ws is added when missing),
// and waits for the hello frame. A refused upgrade is an *APIError with the edge's status and problem.
func Dial(ctx context.Context, edgeURL string, auth WSAuth, opts DialOptions) (*Conn, error) {
	u, err := url.Parse(edgeURL)
	if err != nil {
		return nil, fmt.Errorf("bad edge URL %q: %w", edgeURL, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/ws"
	}
	h := http.Header{}
	d := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
	}
	if opts.LocalAddr != nil {
		nd := &net.Dialer{LocalAddr: opts.LocalAddr}
		d.NetDialContext = nd.DialContext
	}
	switch {
	case auth.Token != "" && auth.Header:
		h.Set("Authorization", "Bearer "+auth.Token)
		d.Subprotocols = []string{events.SubprotocolV1}
	case auth.Token != "":
		d.Subprotocols = []string{events.SubprotocolV1, events.SubprotocolBearer + auth.Token}
	default:
		d.Subprotocols = []string{events.SubprotocolV1}
	}
	if auth.Ticket != "" && auth.Token == "" {
		q := u.Query()
		q.Set("ticket", auth.Ticket)
		u.RawQuery = q.Encode()
	}
	if auth.Origin != "" {
		h.Set("Origin", auth.Origin)
	}
	ws, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			// gorilla keeps up to 1 KiB of a refused handshake's body: enough for a problem.
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			return nil, newAPIError(http.MethodGet, u.Path, resp.StatusCode, body)
		}
		return nil, fmt.Errorf("dial %s: %w", u.Redacted(), err)
	}
	if opts.MailboxLimit <= 0 {
		opts.MailboxLimit = 100_000
	}
	c := &Conn{ws: ws, limit: opts.MailboxLimit, changed: make(chan struct{}), done: make(chan struct{})}
	go c.readLoop()
	f, err := c.Await(ctx, IsType(events.FrameHello))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("await hello: %w", err)
	}
	if err := json.Unmarshal(f.Data, &c.hello); err != nil {
		c.Close()
		return nil, fmt.Errorf("decode hello: %w", err)
	}
	return c, nil
}

// Hello returns the server's hello.
func (c *Conn) Hello() events.Hello { return c.hello }

// Subprotocol returns the subprotocol the edge chose.
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.closed, c.closeErr = true, err
			c.notifyLocked()
			c.mu.Unlock()
			return
		}
		var f events.Frame
		if err := json.Unmarshal(data, &f); err != nil {
			// Keep the undecodable text visible to tests as a frame of its own type.
			f = events.Frame{Type: "(invalid)", Data: json.RawMessage(strconv.Quote(string(data)))}
		}
		c.mu.Lock()
		taps := c.taps
		c.mu.Unlock()
		for _, tap := range taps {
			tap(f)
		}
		c.mu.Lock()
		if len(c.mailbox) >= c.limit {
			c.mailbox = c.mailbox[1:]
			c.dropped++
		}
		c.mailbox = append(c.mailbox, f)
		c.notifyLocked()
		c.mu.Unlock()
	}
}

func (c *Conn) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// OnFrame adds a tap called, on the read goroutine, with every frame read from now on (before Await
// sees it). A tap must not block: it holds up the connection's reads.
func (c *Conn) OnFrame(fn func(events.Frame)) {
	c.mu.Lock()
	c.taps = append(c.taps, fn)
	c.mu.Unlock()
}

// Await returns, and removes from the mailbox, the oldest frame that matches; it waits for one until
// ctx ends or the connection closes (ErrClosed wrapped with the close error).
func (c *Conn) Await(ctx context.Context, match func(events.Frame) bool) (events.Frame, error) {
	for {
		c.mu.Lock()
		for i, f := range c.mailbox {
			if match(f) {
				c.mailbox = append(c.mailbox[:i:i], c.mailbox[i+1:]...)
				c.mu.Unlock()
				return f, nil
			}
		}
		if c.closed {
			err := c.closeErr
			c.mu.Unlock()
			return events.Frame{}, fmt.Errorf("%w: %v", ErrClosed, err)
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return events.Frame{}, fmt.Errorf("await frame: %w", context.Cause(ctx))
		}
	}
}

// AwaitNone watches for window (bounded by ctx) and fails if a matching frame arrives: the "must not
// be delivered" checks. It is the one helper that waits a fixed time, because absence has no event.
func (c *Conn) AwaitNone(ctx context.Context, window time.Duration, match func(events.Frame) bool) error {
	wctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	f, err := c.Await(wctx, match)
	if err == nil {
		return fmt.Errorf("unexpected %s frame: %s", f.Type, f.Data)
	}
	if wctx.Err() != nil && ctx.Err() == nil {
		return nil
	}
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// Pending returns a copy of the frames not yet consumed.
func (c *Conn) Pending() []events.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]events.Frame(nil), c.mailbox...)
}

// Dropped counts frames dropped because the mailbox was full.
func (c *Conn) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Send writes one frame, bounded by ctx's deadline (or 10 s).
func (c *Conn) Send(ctx context.Context, f events.Frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", f.Type, err)
	}
	return c.SendRaw(ctx, b)
}

// SendRaw writes bytes as one text frame (malformed-frame tests).
func (c *Conn) SendRaw(ctx context.Context, b []byte) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(10 * time.Second)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(dl)
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// NewID returns a fresh frame id for this connection.
func (c *Conn) NewID() string { return "f" + strconv.FormatUint(c.nextID.Add(1), 10) }

// Post sends a frame of type typ with data and a fresh id, and returns the id (no answer awaited).
func (c *Conn) Post(ctx context.Context, typ string, data any) (string, error) {
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return "", fmt.Errorf("encode %s data: %w", typ, err)
		}
		raw = b
	}
	id := c.NewID()
	return id, c.Send(ctx, events.Frame{Type: typ, ID: id, Data: raw})
}

// Request sends a frame with a fresh id and waits for its answer: the result frame, or an error frame
// with that id (returned as *FrameError).
func (c *Conn) Request(ctx context.Context, typ string, data any) (events.Frame, error) {
	id, err := c.Post(ctx, typ, data)
	if err != nil {
		return events.Frame{}, err
	}
	return c.AwaitReply(ctx, id)
}

// AwaitReply waits for the result or error frame answering frame id.
func (c *Conn) AwaitReply(ctx context.Context, id string) (events.Frame, error) {
	f, err := c.Await(ctx, func(f events.Frame) bool {
		return f.ID == id && (f.Type == events.FrameResult || f.Type == events.FrameError)
	})
	if err != nil {
		return f, err
	}
	if f.Type == events.FrameError {
		fe := &FrameError{FrameID: id}
		_ = json.Unmarshal(f.Data, &fe.ErrorFrame)
		return f, fe
	}
	return f, nil
}

// SendMessage sends a message over the socket and returns the stored message from the result.
func (c *Conn) SendMessage(ctx context.Context, conversationID string, m events.SendMessage) (events.Message, error) {
	f, err := c.Request(ctx, events.FrameSend, events.SendFrame{ConversationID: conversationID, SendMessage: m})
	if err != nil {
		return events.Message{}, err
	}
	var r events.MessageResponse
	if err := json.Unmarshal(f.Data, &r); err != nil {
		return events.Message{}, fmt.Errorf("decode send result: %w", err)
	}
	return r.Message, nil
}

// Read moves the read position over the socket.
func (c *Conn) Read(ctx context.Context, conversationID string, seq int64) error {
	_, err := c.Request(ctx, events.FrameRead, events.ReadFrame{ConversationID: conversationID, Seq: seq})
	return err
}

// Revoke recalls a message over the socket.
func (c *Conn) Revoke(ctx context.Context, messageID string) error {
	_, err := c.Request(ctx, events.FrameRevoke, events.RevokeFrame{MessageID: messageID})
	return err
}

// Ack acknowledges every push of a conversation up to seq (cumulative; no answer).
func (c *Conn) Ack(ctx context.Context, conversationID string, seq int64) error {
	_, err := c.Post(ctx, events.FrameAck, events.ReadFrame{ConversationID: conversationID, Seq: seq})
	return err
}

// Typing sends a typing signal.
func (c *Conn) Typing(ctx context.Context, conversationID, state string) error {
	_, err := c.Post(ctx, events.FrameTyping, events.TypingFrame{ConversationID: conversationID, State: state})
	return err
}

// Call sends a call.* frame (typ is one of the events.FrameCall* constants) and returns its frame id;
// a refusal arrives later as an error frame with that id (AwaitReply, or AwaitError).
func (c *Conn) Call(ctx context.Context, typ string, s events.CallSignal) (string, error) {
	return c.Post(ctx, typ, s)
}

// Ping sends a ping frame and waits for the pong, returning the round trip.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	id, err := c.Post(ctx, events.FramePing, nil)
	if err != nil {
		return 0, err
	}
	if _, err := c.Await(ctx, func(f events.Frame) bool {
		// The pong echoes our id; an edge that leaves it out still answers pings in order.
		return f.Type == events.FramePong && (f.ID == id || f.ID == "")
	}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// Close ends the connection with 1000 and waits (bounded) for the read goroutine.
func (c *Conn) Close() error {
	c.writeMu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	err := c.ws.Close()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	return err
}

// Done is closed when the read goroutine ends (the connection is gone).
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseCode returns the close code the server sent (0 while open, or when the connection just dropped).
func (c *Conn) CloseCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ce *websocket.CloseError
	if errors.As(c.closeErr, &ce) {
		return ce.Code
	}
	return 0
}

// AwaitClose waits for the connection to end and returns the server's close code.
func (c *Conn) AwaitClose(ctx context.Context) (int, error) {
	select {
	case <-c.done:
		return c.CloseCode(), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("await close: %w", context.Cause(ctx))
	}
}

// Frame predicates for Await.

// IsType matches frames of one type.
func IsType(typ string) func(events.Frame) bool {
	return func(f events.Frame) bool { return f.Type == typ }
}

// IsMessage matches message pushes of one conversation (any conversation when id is "") whose
// message satisfies ok (nil: any).
func IsMessage(conversationID string, ok func(events.Message) bool) func(events.Frame) bool {
	return func(f events.Frame) bool {
		if f.Type != events.FrameMessage {
			return false
		}
		m, err := DecodeMessage(f)
		if err != nil || (conversationID != "" && m.ConversationID != conversationID) {
			return false
		}
		return ok == nil || ok(m)
	}
}

// HasData matches frames of type typ whose data, decoded into a T, satisfies ok.
func HasData[T any](typ string, ok func(T) bool) func(events.Frame) bool {
	return func(f events.Frame) bool {
		if f.Type != typ {
			return false
		}
		var v T
		if err := json.Unmarshal(f.Data, &v); err != nil {
			return false
		}
		return ok(v)
	}
}

// DecodeMessage returns the message a message or message.revoked push carries. The push data is the
// fact ({"message":{...}}); a bare message object is accepted too.
func DecodeMessage(f events.Frame) (events.Message, error) {
	var fact events.MessageFact
	if err := json.Unmarshal(f.Data, &fact); err == nil && fact.Message.ID != "" {
		return fact.Message, nil
	}
	var m events.Message
	if err := json.Unmarshal(f.Data, &m); err != nil {
		return m, fmt.Errorf("decode %s push: %w", f.Type, err)
	}
	if m.ID == "" {
		return m, fmt.Errorf("%s push without a message: %.200s", f.Type, f.Data)
	}
	return m, nil
}

// DecodeData decodes a frame's data.
func DecodeData[T any](f events.Frame) (T, error) {
	var v T
	err := json.Unmarshal(f.Data, &v)
	return v, err
}

// EdgeURL turns an http(s) base into the edge's WebSocket endpoint.
func EdgeURL(base string) string {
	s := strings.TrimSuffix(base, "/")
	s = strings.Replace(s, "http://", "ws://", 1)
	s = strings.Replace(s, "https://", "wss://", 1)
	if !strings.HasSuffix(s, "/v1/ws") {
		s += "/v1/ws"
	}
	return s
}
