package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/events"
)

func TestAPIErrorCarriesProblem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("authorization = %q", r.Header.Get("Authorization"))
		}
		p := events.ProblemOf(events.Errorf(events.CodeNotFound, "no such conversation"))
		w.Header().Set("Content-Type", events.ProblemContentType)
		w.WriteHeader(p.Status)
		_ = json.NewEncoder(w).Encode(p)
	}))
	defer srv.Close()
	c, err := New(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.SetTokens(events.Tokens{AccessToken: "tok"})
	_, err = c.Conversation(context.Background(), "a/b")
	if CodeOf(err) != events.CodeNotFound || StatusOf(err) != http.StatusNotFound {
		t.Fatalf("err = %v, code %q status %d", err, CodeOf(err), StatusOf(err))
	}
}

func TestRegisterKeepsTokens(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req events.RegisterRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/v1/auth/register" {
			t.Errorf("path %s err %v", r.URL.Path, err)
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(events.Auth{User: events.User{ID: "u1", Username: req.Username}, Tokens: events.Tokens{AccessToken: "a", RefreshToken: "r"}})
	}))
	defer srv.Close()
	c, _ := New(srv.URL, nil)
	if _, err := c.Register(context.Background(), events.RegisterRequest{Username: "alice", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	if c.UserID() != "u1" || c.Tokens().RefreshToken != "r" {
		t.Fatalf("state: %+v %+v", c.User(), c.Tokens())
	}
}

// fakeEdge speaks just enough of the protocol: hello, result for send, pong for ping, and a close code.
func fakeEdge(t *testing.T) *httptest.Server {
	up := websocket.Upgrader{Subprotocols: []string{events.SubprotocolV1}}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tok string
		for _, p := range websocket.Subprotocols(r) {
			if s, ok := strings.CutPrefix(p, events.SubprotocolBearer); ok {
				tok = s
			}
		}
		if tok != "good" {
			p := events.ProblemOf(events.Errorf(events.CodeUnauthenticated, "bad token"))
			w.Header().Set("Content-Type", events.ProblemContentType)
			w.WriteHeader(p.Status)
			_ = json.NewEncoder(w).Encode(p)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		hello, _ := json.Marshal(events.Hello{SessionID: "s1", UserID: "u1", HeartbeatIntervalS: 30})
		_ = ws.WriteJSON(events.Frame{Type: events.FrameHello, Data: hello})
		for {
			var f events.Frame
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			switch f.Type {
			case events.FramePing:
				_ = ws.WriteJSON(events.Frame{Type: events.FramePong, ID: f.ID})
			case events.FrameSend:
				var s events.SendFrame
				_ = json.Unmarshal(f.Data, &s)
				m := events.Message{ID: "m1", ConversationID: s.ConversationID, Seq: 1, ClientMsgID: s.ClientMsgID, Type: s.Type, Text: s.Text}
				fact, _ := json.Marshal(events.MessageFact{Message: m})
				// The push may overtake the result; Await must cope with either order.
				_ = ws.WriteJSON(events.Frame{Type: events.FrameMessage, Data: fact})
				res, _ := json.Marshal(events.MessageResponse{Message: m})
				_ = ws.WriteJSON(events.Frame{Type: events.FrameResult, ID: f.ID, Data: res})
			case events.FrameRevoke:
				e, _ := json.Marshal(events.ErrorFrame{Code: events.CodeRevokeWindowExpired, Message: "too late"})
				_ = ws.WriteJSON(events.Frame{Type: events.FrameError, ID: f.ID, Data: e})
			case "bye":
				_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(events.CloseBanned, "banned"))
				return
			}
		}
	}))
}

func TestConnRoundTrips(t *testing.T) {
	srv := fakeEdge(t)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := Dial(ctx, srv.URL, WSAuth{Token: "bad"}, DialOptions{}); CodeOf(err) != events.CodeUnauthenticated {
		t.Fatalf("bad token: %v", err)
	}
	c, err := Dial(ctx, srv.URL, WSAuth{Token: "good"}, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Hello().SessionID != "s1" || c.Subprotocol() != events.SubprotocolV1 {
		t.Fatalf("hello %+v subprotocol %q", c.Hello(), c.Subprotocol())
	}
	var tapped int
	c.OnFrame(func(f events.Frame) {
		if f.Type == events.FrameMessage {
			tapped++
		}
	})
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := c.SendMessage(ctx, "c1", events.SendMessage{ClientMsgID: "k1", Type: events.MessageText, Text: "hi"})
	if err != nil || m.Seq != 1 {
		t.Fatalf("send: %+v %v", m, err)
	}
	if _, err := c.Await(ctx, IsMessage("c1", func(m events.Message) bool { return m.ClientMsgID == "k1" })); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, "m1"); CodeOf(err) != events.CodeRevokeWindowExpired {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := c.Post(ctx, "bye", nil); err != nil {
		t.Fatal(err)
	}
	if code, err := c.AwaitClose(ctx); err != nil || code != events.CloseBanned {
		t.Fatalf("close code %d %v", code, err)
	}
	if tapped != 1 {
		t.Fatalf("tap saw %d message pushes", tapped)
	}
}
