// Package client is a typed client of Parley's public API (API.md): every HTTP route, returning the
// events types, and a WebSocket connection with await helpers. It imports only the contract package
// events, so it sees the system exactly as a third-party client would.
//
// A Client is one logged-in user (one device): it keeps the tokens that register, login and refresh
// answer and sends the access token on every authenticated route. It is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/parley-im/parley/events"
)

// maxAnswerBytes bounds what the client reads from one answer, so a misbehaving server cannot make a
// test allocate without limit.
const maxAnswerBytes = 8 << 20

// APIError is a non-2xx answer. Problem is the decoded problem+json body (zero when the body was not
// one; Body then holds what came).
type APIError struct {
	Method  string
	Path    string
	Status  int
	Problem events.Problem
	Body    []byte
}

func (e *APIError) Error() string {
	if e.Problem.Code != "" {
		return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Problem.Code, e.Problem.Detail)
	}
	return fmt.Sprintf("%s %s: %d: %.200q", e.Method, e.Path, e.Status, e.Body)
}

// CodeOf returns the stable error code carried by err: the problem code of an *APIError or the code of
// an error frame (*FrameError); "" for anything else (transport errors, nil).
func CodeOf(err error) events.Code {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Problem.Code
	}
	var fe *FrameError
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

// StatusOf returns the HTTP status of an *APIError in err's chain, 0 otherwise.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Client talks to the gateway (the public HTTP API) as one user.
type Client struct {
	base *url.URL
	hc   *http.Client

	mu     sync.Mutex
	tokens events.Tokens
	user   events.User
}

// New returns a client of the gateway at baseURL (for example "http://127.0.0.1:8080"). hc nil means
// a client of its own with no overall timeout: every call is bounded by its ctx instead.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: bad base URL %q", baseURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: u, hc: hc}, nil
}

// Clone returns a client of the same gateway with no tokens: another device or another user.
func (c *Client) Clone() *Client { return &Client{base: c.base, hc: c.hc} }

// Tokens returns the tokens the client holds.
func (c *Client) Tokens() events.Tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// SetTokens replaces the tokens (to act with an old or foreign token in a test).
func (c *Client) SetTokens(t events.Tokens) {
	c.mu.Lock()
	c.tokens = t
	c.mu.Unlock()
}

// User returns the user of the last register, login or Me.
func (c *Client) User() events.User {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// UserID is User().ID.
func (c *Client) UserID() string { return c.User().ID }

func (c *Client) setAuth(a events.Auth) {
	c.mu.Lock()
	c.tokens, c.user = a.Tokens, a.User
	c.mu.Unlock()
}

// Do sends one JSON request and decodes a 2xx answer into out (nil: discard). in nil sends no body.
// Authenticated requests carry the held access token. A non-2xx answer is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = b
	}
	ct := ""
	if in != nil {
		ct = "application/json"
	}
	status, answer, err := c.Raw(ctx, method, path, ct, body, true)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return newAPIError(method, path, status, answer)
	}
	if out == nil || len(answer) == 0 {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// Raw sends body as is (malformed JSON, huge bodies, odd content types: the bad-input tests) and returns
// the status and answer body without interpreting them. withAuth adds the held access token.
func (c *Client) Raw(ctx context.Context, method, path, contentType string, body []byte, withAuth bool) (int, []byte, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return 0, nil, fmt.Errorf("bad path %q: %w", path, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.ResolveReference(ref).String(), rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if withAuth {
		if tok := c.Tokens().AccessToken; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, answer, nil
}

func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status, Body: body}
	// A body that is not a problem leaves Problem zero; the test then sees Body in the message.
	_ = json.Unmarshal(body, &e.Problem)
	return e
}

// ProblemOf decodes a raw answer body as a problem (for Raw callers).
func ProblemOf(body []byte) (events.Problem, error) {
	var p events.Problem
	err := json.Unmarshal(body, &p)
	return p, err
}

// pathf builds a path with escaped segments.
func pathf(format string, ids ...string) string {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = url.PathEscape(id)
	}
	return fmt.Sprintf(format, args...)
}

// BaseURL returns the gateway URL.
func (c *Client) BaseURL() string { return strings.TrimSuffix(c.base.String(), "/") }
