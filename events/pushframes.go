package events

import (
	"encoding/json"
	"strings"
)

// PushFrame says how the socket-edge pushes a delivered event of one type to its recipients'
// connections (API.md, "Server -> client").
type PushFrame struct {
	// Type is the push frame type.
	Type string
	// Acked: the push is a message the client acks by (conversation_id, seq). The edge remembers it
	// until acked, resends it, and drops a repeat at or below the seq it already pushed; the
	// delivery's DeliveredEvent carries ConversationID and Seq for it.
	Acked bool
	// typeOf, when set, reads the frame type from the payload instead (call signals).
	typeOf func(data json.RawMessage) string
}

// pushFrames is the fact type -> push frame table: a new pushed event type is one line here.
// Types absent are not pushed as such: commands, rejections (they answer a frame), session ends
// and deletions (the edge closes connections for them), registrations and reports.
var pushFrames = map[string]PushFrame{
	TypeMessageCreated:      {Type: FrameMessage, Acked: true},
	TypeMessageRevoked:      {Type: FrameMessageRevoked},
	TypeMessageEdited:       {Type: FrameMessageEdited},
	TypeReactionChanged:     {Type: FrameReaction},
	TypeConversationPinned:  {Type: FramePinsUpdated},
	TypeMessageErased:       {Type: FrameMessageErased},
	TypeConversationRead:    {Type: FrameReadPush},
	TypeTypingUpdate:        {Type: FrameTypingPush},
	TypePresenceChanged:     {Type: FramePresence},
	TypeContactRequested:    {Type: FrameContactRequest},
	TypeContactAccepted:     {Type: FrameContactAccepted},
	TypeContactRemoved:      {Type: FrameContactRemoved},
	TypeConversationCreated: {Type: FrameConversationUpdated},
	TypeConversationUpdated: {Type: FrameConversationUpdated},
	TypeMemberAdded:         {Type: FrameMemberAdded},
	TypeMemberRemoved:       {Type: FrameMemberRemoved},
	TypeFileUploaded:        {Type: FrameFileReady},
	TypeFileRejected:        {Type: FrameFileRejected},
	TypeUserUpdated:         {Type: FrameUserUpdated},
	TypeCallSignal:          {typeOf: callFrameType},
}

// PushFrameOf returns how an event of type typ is pushed; ok is false for a type that is not pushed.
func PushFrameOf(typ string) (p PushFrame, ok bool) {
	p, ok = pushFrames[typ]
	return p, ok
}

// FrameType is the frame type of one event with payload data; "" means this one is not pushed.
func (p PushFrame) FrameType(data json.RawMessage) string {
	if p.typeOf != nil {
		return p.typeOf(data)
	}
	return p.Type
}

// callFrameType is "call.<kind>" for a call signal; "" for a signal without a usable kind (the
// frame type is written into frames unescaped, so it may not hold what JSON must escape).
func callFrameType(data json.RawMessage) string {
	var s struct {
		Kind string `json:"kind"`
	}
	_ = json.Unmarshal(data, &s) // a bad payload has no kind and is not pushed
	if s.Kind == "" || strings.ContainsAny(s.Kind, `"\`) {
		return ""
	}
	return "call." + s.Kind
}

// MessagePosition reads the conversation and seq of an im.message.created payload (MessageFact),
// without decoding the rest of the message; zero values when data has none. Producers use it to set
// DeliveredEvent.ConversationID and Seq.
func MessagePosition(data json.RawMessage) (conversationID string, seq int64) {
	var f struct {
		Message struct {
			ConversationID string `json:"conversation_id"`
			Seq            int64  `json:"seq"`
		} `json:"message"`
	}
	_ = json.Unmarshal(data, &f) // a bad payload has no position; the push is then not acked
	return f.Message.ConversationID, f.Message.Seq
}
