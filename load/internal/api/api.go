// Package api is the load tool's lean client of Parley's public API: only the routes the load modes
// use, and a WebSocket whose frames go to a callback instead of a mailbox, so tens of thousands of
// connections cost one read goroutine each and nothing else. (The e2e module's client is the full,
// test-oriented one; the dependency rule lets load import only events, hence this small twin.)
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/events"
)

// Error is a non-2xx answer.
type Error struct {
	Status  int
	Problem events.Problem
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Problem.Code, e.Problem.Detail)
}

// HTTP is a client of the gateway shared by every simulated user (the token is per call).
type HTTP struct {
	Base string
	HC   *http.Client
}

// NewHTTP returns a client with a connection pool sized for concurrent load.
func NewHTTP(base string, conns int) *HTTP {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: 30 * time.Second}
	return &HTTP{Base: base, HC: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Do sends a JSON request with an optional bearer token and decodes a 2xx answer into out.
func (h *HTTP) Do(ctx context.Context, token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.Base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.HC.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode}
		_ = json.Unmarshal(b, &e.Problem)
		return e
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// CodeOf returns the problem code of err, "" when it is not an *Error.
func CodeOf(err error) events.Code {
	if e, ok := err.(*Error); ok {
		return e.Problem.Code
	}
	return ""
}

// RegisterOrLogin registers username, or logs in when it exists (a rerun with the same -run id
// reuses its users instead of paying for registration again).
func (h *HTTP) RegisterOrLogin(ctx context.Context, username, password string) (events.Auth, error) {
	var a events.Auth
	err := h.Do(ctx, "", http.MethodPost, "/v1/auth/register", events.RegisterRequest{Username: username, Password: password}, &a)
	if CodeOf(err) == events.CodeUsernameTaken {
		err = h.Do(ctx, "", http.MethodPost, "/v1/auth/login", events.LoginRequest{Username: username, Password: password}, &a)
	}
	return a, err
}

// CreateGroup creates a group; API.md caps member_ids at creation at 1,000, so callers add the rest
// with AddMembers.
func (h *HTTP) CreateGroup(ctx context.Context, token, title string, memberIDs []string) (events.Conversation, error) {
	var r events.ConversationResponse
	err := h.Do(ctx, token, http.MethodPost, "/v1/conversations", events.CreateConversationRequest{Type: events.ConversationGroup, Title: title, MemberIDs: memberIDs}, &r)
	return r.Conversation, err
}

// AddMembers adds users to a group.
func (h *HTTP) AddMembers(ctx context.Context, token, convID string, ids []string) error {
	return h.Do(ctx, token, http.MethodPost, "/v1/conversations/"+url.PathEscape(convID)+"/members", events.AddMembersRequest{UserIDs: ids}, nil)
}

// Send stores a message over HTTP.
func (h *HTTP) Send(ctx context.Context, token, convID string, m events.SendMessage) (events.Message, error) {
	var r events.MessageResponse
	err := h.Do(ctx, token, http.MethodPost, "/v1/conversations/"+url.PathEscape(convID)+"/messages", m, &r)
	return r.Message, err
}

// History returns one page of messages after afterSeq.
func (h *HTTP) History(ctx context.Context, token, convID string, afterSeq int64, limit int) (events.MessagesResponse, error) {
	var r events.MessagesResponse
	p := "/v1/conversations/" + url.PathEscape(convID) + "/messages?after_seq=" + strconv.FormatInt(afterSeq, 10) + "&limit=" + strconv.Itoa(limit)
	err := h.Do(ctx, token, http.MethodGet, p, nil, &r)
	return r, err
}

// Conn is one WebSocket. Frames go to the handler on the read goroutine; writes are serialized.
type Conn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	Hello   events.Hello
	done    chan struct{}
	err     error
}

// Dial opens a connection with the bearer subprotocol from a source address (nil: any) and waits for
// hello. handle gets every later frame; it must not block.
func Dial(ctx context.Context, edgeURL, token string, local net.Addr, handle func(events.Frame)) (*Conn, error) {
	nd := &net.Dialer{LocalAddr: local}
	d := websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: 30 * time.Second,
		Subprotocols:     []string{events.SubprotocolV1, events.SubprotocolBearer + token},
		// Small buffers: the client side of 60k connections lives on the same 24 GiB machine.
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
	}
	ws, resp, err := d.DialContext(ctx, edgeURL, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("upgrade refused: %d", resp.StatusCode)
		}
		return nil, err
	}
	c := &Conn{ws: ws, done: make(chan struct{})}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	_ = ws.SetReadDeadline(dl)
	var f events.Frame
	if err := ws.ReadJSON(&f); err != nil || f.Type != events.FrameHello {
		ws.Close()
		return nil, fmt.Errorf("no hello: %v (got %q)", err, f.Type)
	}
	_ = json.Unmarshal(f.Data, &c.Hello)
	_ = ws.SetReadDeadline(time.Time{})
	go c.readLoop(handle)
	return c, nil
}

func (c *Conn) readLoop(handle func(events.Frame)) {
	defer close(c.done)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		var f events.Frame
		if json.Unmarshal(b, &f) == nil {
			handle(f)
		}
	}
}

// Send writes one frame within timeout.
func (c *Conn) Send(f events.Frame, timeout time.Duration) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(timeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseCode is the server's close code once Done (0 when the connection just dropped).
func (c *Conn) CloseCode() int {
	if ce, ok := c.err.(*websocket.CloseError); ok {
		return ce.Code
	}
	return 0
}

// Close ends the connection normally.
func (c *Conn) Close() {
	c.writeMu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	_ = c.ws.Close()
}

// DecodeMessage reads the message of a message push ({"message":...}, or a bare message).
func DecodeMessage(data json.RawMessage) (events.Message, bool) {
	var fact events.MessageFact
	if json.Unmarshal(data, &fact) == nil && fact.Message.ID != "" {
		return fact.Message, true
	}
	var m events.Message
	if json.Unmarshal(data, &m) == nil && m.ID != "" {
		return m, true
	}
	return m, false
}
