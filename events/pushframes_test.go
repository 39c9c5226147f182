package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// notPushed are the fact and signal types the push table leaves out on purpose; a new type must be
// in the table or here.
var notPushed = map[string]string{
	TypeUserRegistered: "nobody is told of a registration",
	TypeUserDeleted:    "the edge closes the user's connections",
	TypeSessionRevoked: "the edge pushes session.revoked and closes the session",
	TypeReportCreated:  "the admin queue is pulled",
	TypeReportResolved: "the admin queue is pulled",
}

func TestPushFrameTableCoversEveryFact(t *testing.T) {
	for _, typ := range append(FactTypes(), TypeTypingUpdate, TypeCallSignal) {
		_, pushed := PushFrameOf(typ)
		if pushed == (notPushed[typ] != "") {
			t.Errorf("%s: pushed %v; put it in the push table or in notPushed", typ, pushed)
		}
	}
	for _, typ := range CommandTypes() {
		if typ == TypeTypingUpdate || typ == TypeCallSignal {
			continue // ephemeral signals are delivered as they were sent
		}
		if _, ok := PushFrameOf(typ); ok {
			t.Errorf("command %s is pushed", typ)
		}
	}
	for _, typ := range []string{TypeCommandRejected, TypeDelivery, ""} {
		if _, ok := PushFrameOf(typ); ok {
			t.Errorf("%q is pushed", typ)
		}
	}
}

func TestPushFrameTypes(t *testing.T) {
	for _, tc := range []struct {
		typ, data, frame string
		acked            bool
	}{
		{TypeMessageCreated, `{}`, FrameMessage, true},
		{TypeMessageRevoked, `{}`, FrameMessageRevoked, false},
		{TypeConversationCreated, `{}`, FrameConversationUpdated, false},
		{TypeConversationUpdated, `{}`, FrameConversationUpdated, false},
		{TypeTypingUpdate, `{}`, FrameTypingPush, false},
		{TypeCallSignal, `{"kind":"offer","call_id":"c"}`, "call.offer", false},
		{TypeCallSignal, `{"call_id":"c"}`, "", false},
		{TypeCallSignal, `{"kind":"a\"b"}`, "", false},
		{TypeCallSignal, `{"kind":"a\\b"}`, "", false},
		{TypeCallSignal, `not json`, "", false},
	} {
		p, ok := PushFrameOf(tc.typ)
		if !ok {
			t.Errorf("%s is not pushed", tc.typ)
			continue
		}
		if got := p.FrameType(json.RawMessage(tc.data)); got != tc.frame || p.Acked != tc.acked {
			t.Errorf("%s %s: frame %q acked %v, want %q %v", tc.typ, tc.data, got, p.Acked, tc.frame, tc.acked)
		}
	}
}

func TestMessagePosition(t *testing.T) {
	data, _ := json.Marshal(MessageFact{Message: sampleMessage()})
	if conv, seq := MessagePosition(data); conv != "conv-1" || seq != 7 {
		t.Errorf("MessagePosition = %q %d", conv, seq)
	}
	for _, bad := range []string{``, `null`, `{}`, `{"message":1}`, `[`} {
		if conv, seq := MessagePosition(json.RawMessage(bad)); conv != "" || seq != 0 {
			t.Errorf("MessagePosition(%s) = %q %d", bad, conv, seq)
		}
	}
}

// TestDeliveryWithoutPosition: a delivery from a producer older than DeliveredEvent's
// conversation_id and seq still decodes (zero values; the edge reads the payload then).
func TestDeliveryWithoutPosition(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "compat", "im.delivery.v1.before-position.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Data Delivery `json:"data"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	d := e.Data.Event
	if d.Type != TypeMessageCreated || d.ConversationID != "" || d.Seq != 0 || len(d.Data) == 0 {
		t.Fatalf("old delivery decoded as %+v", d)
	}
	if conv, seq := MessagePosition(d.Data); conv != "conv-1" || seq != 7 {
		t.Fatalf("old delivery's payload position %q %d", conv, seq)
	}
}
