package edge

import (
	"errors"
	"testing"

	"github.com/parley-im/parley/events"
)

// FuzzParseFrame feeds arbitrary bytes to the client frame decoder and to every frame type's data
// decoder: they must never panic; a parsed frame must come with no error, anything else with
// errNotJSON or an invalid_argument error (the two answers the edge gives bad frames).
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`{"type":"send","id":"f1","data":{"conversation_id":"c","client_msg_id":"1","type":"text","text":"hi"}}`))
	f.Add([]byte(`{"type":"ack","data":{"conversation_id":"c","seq":3}}`))
	f.Add([]byte(`{"type":"call.ice","data":{"call_id":"x","candidate":{"a":1}}}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`not json`))
	f.Add([]byte{0xff, 0xfe, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := parseFrame(data)
		if err != nil {
			if !errors.Is(err, errNotJSON) && events.AsError(err).Code != events.CodeInvalidArgument {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, v := range []any{&events.SendFrame{}, &events.ReadFrame{}, &events.RevokeFrame{}, &events.TypingFrame{}, &events.CallSignal{}} {
			if err := decodeData(fr.Data, v); err != nil && events.AsError(err).Code != events.CodeInvalidArgument {
				t.Fatalf("data decoder error kind: %v", err)
			}
		}
	})
}

// Text that is not JSON (including JSON followed by anything) is errNotJSON; JSON of another shape
// is invalid_argument; both as json.Valid decided before the parse stopped calling it.
func TestParseFrameErrorKinds(t *testing.T) {
	for _, c := range []struct {
		in      string
		notJSON bool
	}{
		{`not json`, true},
		{`{"type":"ack"} x`, true},
		{`{"type":"ack"`, true},
		{"\xff\xfe{}", true},
		{`[1,2,3]`, false},
		{`"ack"`, false},
		{`{"type":1}`, false},
	} {
		_, err := parseFrame([]byte(c.in))
		if err == nil {
			t.Fatalf("%q: parsed, want an error", c.in)
		}
		if got := errors.Is(err, errNotJSON); got != c.notJSON {
			t.Fatalf("%q: not-JSON = %v (%v), want %v", c.in, got, err, c.notJSON)
		}
		if !c.notJSON && events.AsError(err).Code != events.CodeInvalidArgument {
			t.Fatalf("%q: %v, want invalid_argument", c.in, err)
		}
	}
	if f, err := parseFrame([]byte(`{"type":"ack","data":{"conversation_id":"c","seq":3}}`)); err != nil || f.Type != "ack" {
		t.Fatalf("ack frame: %+v, %v", f, err)
	}
}
