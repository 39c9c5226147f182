//go:build e2e

package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// isCall matches a relayed call.* frame of one call.
func isCall(typ, callID string) func(events.Frame) bool {
	return client.HasData(typ, func(s events.CallSignal) bool { return s.CallID == callID })
}

func TestCallSignalingAcrossEdges(t *testing.T) {
	ctx := timeout(t, time.Minute)
	a, b, stranger := newUser(t), newUser(t), newUser(t)
	conv := befriend(t, a, b)
	aConn, bConn := a.dial(t, 0), b.dial(t, 1)
	sConn := stranger.dial(t, 0)

	ice, err := a.ICEServers(ctx)
	if err != nil || len(ice) == 0 {
		t.Fatalf("ice servers: %+v %v", ice, err)
	}

	callID := "call-" + randHex(8)
	steps := []struct {
		from, to *client.Conn
		typ      string
		sig      events.CallSignal
	}{
		{aConn, bConn, events.FrameCallInvite, events.CallSignal{CallID: callID, ConversationID: conv.ID, ToUserID: b.UserID()}},
		{bConn, aConn, events.FrameCallAccept, events.CallSignal{CallID: callID}},
		{aConn, bConn, events.FrameCallOffer, events.CallSignal{CallID: callID, SDP: "v=0 offer"}},
		{bConn, aConn, events.FrameCallAnswer, events.CallSignal{CallID: callID, SDP: "v=0 answer"}},
		{aConn, bConn, events.FrameCallICE, events.CallSignal{CallID: callID, Candidate: json.RawMessage(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}`)}},
		{bConn, aConn, events.FrameCallHangup, events.CallSignal{CallID: callID}},
	}
	for _, s := range steps {
		if _, err := s.from.Call(ctx, s.typ, s.sig); err != nil {
			t.Fatalf("%s: %v", s.typ, err)
		}
		f, err := s.to.Await(ctx, isCall(s.typ, callID))
		if err != nil {
			t.Fatalf("%s not relayed: %v", s.typ, err)
		}
		got, _ := client.DecodeData[events.CallSignal](f)
		if s.sig.SDP != "" && got.SDP != s.sig.SDP {
			t.Fatalf("%s sdp %q", s.typ, got.SDP)
		}
	}

	// A stranger may not ring a user it has no conversation with.
	id, err := sConn.Call(ctx, events.FrameCallInvite, events.CallSignal{CallID: "call-" + randHex(8), ToUserID: a.UserID()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sConn.AwaitReply(ctx, id)
	if c := client.CodeOf(err); c != events.CodeForbidden && c != events.CodeNotFound && c != events.CodeNotContacts {
		t.Fatalf("stranger invite: want a refusal, got %v", err)
	}
	if err := aConn.AwaitNone(ctx, time.Second, client.IsType(events.FrameCallInvite)); err != nil {
		t.Fatalf("stranger's invite delivered: %v", err)
	}
}

func TestCallTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the 30 s ring timeout")
	}
	ctx := timeout(t, 90*time.Second)
	a, b := newUser(t), newUser(t)
	conv := befriend(t, a, b)
	aConn, bConn := a.dial(t, 0), b.dial(t, 1)
	callID := "call-" + randHex(8)
	if _, err := aConn.Call(ctx, events.FrameCallInvite, events.CallSignal{CallID: callID, ConversationID: conv.ID, ToUserID: b.UserID()}); err != nil {
		t.Fatal(err)
	}
	if _, err := bConn.Await(ctx, isCall(events.FrameCallInvite, callID)); err != nil {
		t.Fatalf("invite: %v", err)
	}
	start := time.Now()
	if _, err := aConn.Await(ctx, isCall(events.FrameCallTimeout, callID)); err != nil {
		t.Fatalf("no call.timeout for the caller: %v", err)
	}
	if el := time.Since(start); el < 20*time.Second {
		t.Fatalf("call.timeout after %s, before the 30 s ring window", el)
	}
}
