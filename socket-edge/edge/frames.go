package edge

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/parley-im/parley/events"
)

// errNotJSON: the frame is not JSON at all (the connection is closed with 1008).
var errNotJSON = errors.New("frame is not JSON")

// parseFrame decodes one client frame: errNotJSON for bytes that are not JSON, an invalid_argument
// error for JSON that is not a frame object.
func parseFrame(data []byte) (events.Frame, error) {
	// Unmarshal checks the whole text before decoding: a syntax error is "not JSON" (a separate
	// json.Valid pass cost a third of the parse, on every ack).
	var f events.Frame
	if err := json.Unmarshal(data, &f); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return events.Frame{}, errNotJSON
		}
		return events.Frame{}, events.Invalid("frame", "must be an object {type, id?, data?}")
	}
	return f, nil
}

// decodeData reads a frame's data; unknown fields are ignored (clients may be newer than the edge).
func decodeData(data json.RawMessage, v any) error {
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return events.Invalid("data", "is required")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return events.Invalid("data", "does not match the frame type")
	}
	return nil
}

// sendError answers frame id with an error frame.
func (c *conn) sendError(id string, err error) {
	ee := events.AsError(err)
	msg := ee.Message
	if ee.Field != "" {
		msg = ee.Field + ": " + msg
	}
	data, _ := json.Marshal(events.ErrorFrame{Code: ee.Code, Message: msg})
	c.enqueue(renderFrame(events.FrameError, id, data))
}

// renderFrame encodes {"type","id"?,"data"?} once; the result is shared by every recipient.
func renderFrame(typ, id string, data []byte) []byte {
	b := make([]byte, 0, len(typ)+len(id)+len(data)+32)
	b = append(b, `{"type":"`...)
	b = append(b, typ...) // frame types are constants without characters JSON must escape
	b = append(b, '"')
	if id != "" {
		q, _ := json.Marshal(id)
		b = append(b, `,"id":`...)
		b = append(b, q...)
	}
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}')
}
