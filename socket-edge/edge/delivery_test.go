package edge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
)

// TestSessionEndReasons: the reasons identity publishes for a banned or deleted account close with
// 4003 (do not reconnect); every other reason with 4001. The edge once also matched "ban", "deleted"
// and "account_deleted" (and any case): no producer ever sent them, and they are not in the contract.
func TestSessionEndReasons(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct {
		reason string
		code   int
	}{
		{events.SessionEndBanned, events.CloseBanned},
		{events.SessionEndUserDeleted, events.CloseBanned},
		{events.SessionEndLogout, events.CloseUnauthenticated},
		{events.SessionEndRefreshReuse, events.CloseUnauthenticated},
		{"password_changed", events.CloseUnauthenticated},
		{"", events.CloseUnauthenticated},
	} {
		user := "u-" + tc.reason
		ws, _ := h.dial(user, "s-"+tc.reason)
		h.e.Deliver(events.Delivery{Recipients: []string{user}, Event: events.DeliveredEvent{ID: newID(),
			Type: events.TypeSessionRevoked, Time: time.Now().UTC(), Data: mustJSON(t, events.SessionRevoked{UserID: user, Reason: tc.reason})}})
		f := readUntil(t, ws, events.FrameSessionRevoked)
		if !strings.Contains(string(f.Data), `"reason":"`+tc.reason+`"`) {
			t.Errorf("%q: session.revoked %s", tc.reason, f.Data)
		}
		if code := closeCode(t, ws, 5*time.Second); code != tc.code {
			t.Errorf("reason %q: close %d, want %d", tc.reason, code, tc.code)
		}
	}
}

// TestMessagePositionFromDelivery: a message delivery carrying its conversation and seq is pushed,
// de-duplicated and acked by them without its payload being read again; one from an older fanout
// (no position) still is, through the payload, and is counted.
func TestMessagePositionFromDelivery(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResendTimeout = time.Hour })
	ws, _ := h.dial("u1", "s1")
	var c *conn
	h.e.hub.each("u1", func(x *conn) { c = x })
	msg := func(conv string, seq int64, positioned bool) events.Delivery {
		ev := events.DeliveredEvent{ID: newID(), Type: events.TypeMessageCreated, Time: time.Now().UTC(), Data: messageData(conv, seq)}
		if positioned {
			ev.ConversationID, ev.Seq = conv, seq
		}
		return events.Delivery{Recipients: []string{"u1"}, Event: ev}
	}
	h.e.Deliver(msg("c1", 1, true))
	h.e.Deliver(msg("c1", 1, true)) // a repeat
	h.e.Deliver(msg("c1", 2, false))
	h.e.Deliver(msg("c1", 2, false)) // a repeat from an older fanout
	h.marker("m", "u1")
	if got := strings.Join(pushedSeqsOf(t, framesUntilMarker(t, ws, "m")), " "); got != "c1/1 c1/2" {
		t.Fatalf("pushes %q; want c1/1 c1/2", got)
	}
	if n := h.e.stats.positionDecoded.Load(); n != 2 {
		t.Fatalf("%d deliveries decoded for their position; want 2 (the older fanout's)", n)
	}
	c.mu.Lock()
	var unacked []string
	for _, u := range c.unacked {
		unacked = append(unacked, u.conv)
	}
	c.mu.Unlock()
	if strings.Join(unacked, " ") != "c1 c1" {
		t.Fatalf("unacked %v; want both pushes of c1", unacked)
	}
	send(t, ws, "ack", "", map[string]any{"conversation_id": "c1", "seq": 2})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.unacked)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes still unacked after the ack", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeliveryHandlersAreNotPushed: a type with its own delivery handler is not also in the push
// frame table (the handler would hide the table's line).
func TestDeliveryHandlersAreNotPushed(t *testing.T) {
	for typ := range deliveryHandlers {
		if _, ok := events.PushFrameOf(typ); ok {
			t.Errorf("%s has a delivery handler and a push frame", typ)
		}
	}
}
