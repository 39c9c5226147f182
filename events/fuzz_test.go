package events

import "testing"

// FuzzFromRecord feeds arbitrary headers and values to the Kafka binding decoder: it must return an
// event or an error, never panic, and an event it returns must be valid.
func FuzzFromRecord(f *testing.F) {
	f.Add("1.0", "id-1", "/src", "im.message.created.v1", "application/json", []byte(`{"message":{}}`))
	f.Add("", "", "", "", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"t"}`))
	f.Add("1.0", "id", "/s", "t", "", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, spec, id, source, typ, ct string, value []byte) {
		r := Record{Value: value, Headers: []Header{
			{"ce_specversion", []byte(spec)}, {"ce_id", []byte(id)}, {"ce_source", []byte(source)},
			{"ce_type", []byte(typ)}, {"content-type", []byte(ct)}, {"ce_time", []byte(id)},
		}}
		e, err := FromRecord(r)
		if err == nil {
			if verr := e.Validate(); verr != nil {
				t.Fatalf("FromRecord returned an invalid event: %v", verr)
			}
		}
	})
}
