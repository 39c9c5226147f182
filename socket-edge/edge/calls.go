package edge

import (
	"strings"

	"github.com/parley-im/parley/events"
)

// callFrame turns a call.* frame into an im.call.signal.v1 command. The realtime function checks that
// caller and callee share a conversation, keeps the call state in Redis (so the two sides may sit on
// different edges), enforces busy and the 30 s ring timeout, and delivers the relayed signal through
// im.delivery; a refusal comes back as an error frame answering this frame's id.
func (c *conn) callFrame(f events.Frame) {
	var s events.CallSignal
	if err := decodeData(f.Data, &s); err != nil {
		c.sendError(f.ID, err)
		return
	}
	s.Kind = strings.TrimPrefix(f.Type, "call.")
	s.FromUserID = c.userID
	// Keyed by call: every signal of one call stays in order on one partition.
	c.command(f, events.TypeCallSignal, s.CallID, s, false)
}
