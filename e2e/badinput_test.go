//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// TestBadInput: every malformed or foreign request gets its stable code, never a 500.
func TestBadInput(t *testing.T) {
	ctx := timeout(t, 2*time.Minute)
	a, b, other := newUser(t), newUser(t), newUser(t)
	conv := group(t, a, b)
	foreignConv := group(t, other, newUser(t))
	foreignMsg, err := other.SendMessage(ctx, foreignConv.ID, text("private"))
	if err != nil {
		t.Fatal(err)
	}
	msgPath := "/v1/conversations/" + conv.ID + "/messages"
	huge := `{"client_msg_id":"x","type":"text","text":"` + strings.Repeat("a", 2<<20) + `"}`

	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		auth        bool
		status      int
		code        events.Code
	}{
		{"malformed JSON", http.MethodPost, msgPath, "application/json", `{"client_msg_id":`, true, 400, events.CodeInvalidArgument},
		{"empty body", http.MethodPost, msgPath, "application/json", ``, true, 400, events.CodeInvalidArgument},
		{"two JSON values", http.MethodPost, msgPath, "application/json", `{"client_msg_id":"a","type":"text","text":"x"}{}`, true, 400, events.CodeInvalidArgument},
		{"wrong type", http.MethodPost, msgPath, "application/json", `{"client_msg_id":5,"type":"text","text":"x"}`, true, 400, events.CodeInvalidArgument},
		{"unknown field", http.MethodPost, msgPath, "application/json", `{"client_msg_id":"a","type":"text","text":"x","admin":true}`, true, 400, events.CodeInvalidArgument},
		{"unknown message type", http.MethodPost, msgPath, "application/json", `{"client_msg_id":"a","type":"system","text":"x"}`, true, 400, events.CodeInvalidArgument},
		{"text over 4000 chars", http.MethodPost, msgPath, "application/json", `{"client_msg_id":"a","type":"text","text":"` + strings.Repeat("é", 4001) + `"}`, true, 400, events.CodeInvalidArgument},
		{"invalid UTF-8", http.MethodPost, msgPath, "application/json", "{\"client_msg_id\":\"a\",\"type\":\"text\",\"text\":\"\xff\xfe\"}", true, 400, events.CodeInvalidArgument},
		{"huge body", http.MethodPost, msgPath, "application/json", huge, true, 413, events.CodePayloadTooLarge},
		{"not JSON content type", http.MethodPost, msgPath, "text/plain", `{"client_msg_id":"a","type":"text","text":"x"}`, true, 415, events.CodeUnsupportedMediaType},
		{"no token", http.MethodPost, msgPath, "application/json", `{"client_msg_id":"a","type":"text","text":"x"}`, false, 401, events.CodeUnauthenticated},
		{"other users' conversation", http.MethodGet, "/v1/conversations/" + foreignConv.ID, "", "", true, 404, events.CodeNotFound},
		{"send to other users' conversation", http.MethodPost, "/v1/conversations/" + foreignConv.ID + "/messages", "application/json", `{"client_msg_id":"a","type":"text","text":"x"}`, true, 404, events.CodeNotFound},
		{"history of other users' conversation", http.MethodGet, "/v1/conversations/" + foreignConv.ID + "/messages", "", "", true, 404, events.CodeNotFound},
		{"revoke other users' message", http.MethodPost, "/v1/messages/" + foreignMsg.ID + "/revoke", "", "", true, 404, events.CodeNotFound},
		{"missing conversation", http.MethodGet, "/v1/conversations/01890000-0000-7000-8000-000000000000", "", "", true, 404, events.CodeNotFound},
		{"username too short", http.MethodPost, "/v1/auth/register", "application/json", `{"username":"ab","password":"password123"}`, false, 400, events.CodeInvalidArgument},
		{"username too long", http.MethodPost, "/v1/auth/register", "application/json", `{"username":"` + strings.Repeat("a", 33) + `","password":"password123"}`, false, 400, events.CodeInvalidArgument},
		{"username bad chars", http.MethodPost, "/v1/auth/register", "application/json", `{"username":"Bad Name","password":"password123"}`, false, 400, events.CodeInvalidArgument},
		{"password too short", http.MethodPost, "/v1/auth/register", "application/json", `{"username":"e2e_short_pw","password":"short"}`, false, 400, events.CodeInvalidArgument},
		{"display name too long", http.MethodPatch, "/v1/users/me", "application/json", `{"display_name":"` + strings.Repeat("n", 65) + `"}`, true, 400, events.CodeInvalidArgument},
		{"negative read seq", http.MethodPost, "/v1/conversations/" + conv.ID + "/read", "application/json", `{"seq":-1}`, true, 400, events.CodeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := a.Raw(ctx, tc.method, tc.path, tc.contentType, []byte(tc.body), tc.auth)
			if err != nil {
				t.Fatal(err)
			}
			p, perr := client.ProblemOf(body)
			if status != tc.status || perr != nil || p.Code != tc.code {
				t.Fatalf("want %d %s, got %d %.300s", tc.status, tc.code, status, body)
			}
			if p.Status != status {
				t.Fatalf("problem status %d != HTTP status %d", p.Status, status)
			}
		})
	}

	// The same over the socket: a bad frame gets an error frame with its code (or closes with 1008),
	// and an oversized frame closes with 1009.
	conn := a.dial(t, 0)
	badFrames := []struct {
		name string
		data any
		code events.Code
	}{
		{"send without text", events.SendFrame{ConversationID: conv.ID, SendMessage: events.SendMessage{ClientMsgID: "a", Type: events.MessageText}}, events.CodeInvalidArgument},
		{"send to other users' conversation", events.SendFrame{ConversationID: foreignConv.ID, SendMessage: text("x")}, events.CodeNotFound},
	}
	for _, bf := range badFrames {
		_, err := conn.Request(ctx, events.FrameSend, bf.data)
		expectCode(t, "ws "+bf.name, err, bf.code)
	}
	id := conn.NewID()
	raw, _ := json.Marshal(map[string]any{"type": events.FrameSend, "id": id, "data": map[string]any{"conversation_id": conv.ID, "client_msg_id": 7}})
	if err := conn.SendRaw(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.AwaitReply(ctx, id); client.CodeOf(err) != events.CodeInvalidArgument {
		t.Fatalf("ws wrong type: %v", err)
	}
	big := a.dial(t, 1)
	// The server may close while the frame is still being written (it reads only the header), so the
	// write itself can fail: what counts is the close code.
	_ = big.SendRaw(ctx, []byte(`{"type":"ping","data":"`+strings.Repeat("x", 1<<20)+`"}`))
	if code, err := big.AwaitClose(ctx); err != nil || code != events.CloseTooBig {
		t.Fatalf("oversized frame: close %d %v", code, err)
	}
	bad := a.dial(t, 0)
	if err := bad.SendRaw(ctx, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	// Either answer is in the protocol: an error frame, or a policy close.
	f, err := bad.Await(ctx, client.IsType(events.FrameError))
	if err != nil {
		if code, _ := bad.AwaitClose(ctx); code != events.ClosePolicy {
			t.Fatalf("malformed frame: no error frame and close code %d (%v)", code, err)
		}
	} else if e, _ := client.DecodeData[events.ErrorFrame](f); e.Code != events.CodeInvalidArgument {
		t.Fatalf("malformed frame error: %+v", e)
	}
}
