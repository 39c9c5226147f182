package events

import "encoding/json"

// WebSocket close codes (API.md). Codes below 4000 are the protocol's own; Parley's are 4000-4999.
// A client reconnects (with jitter) after CloseNormal, CloseServiceRestart and CloseSlowConsumer;
// after CloseUnauthenticated it must get a new token first; after CloseBanned it must not reconnect.
const (
	CloseNormal          = 1000
	ClosePolicy          = 1008 // bad origin or malformed frame
	CloseTooBig          = 1009
	CloseServiceRestart  = 1012 // drain: reconnect with jitter
	CloseUnauthenticated = 4001 // token expired or session revoked
	CloseBanned          = 4003 // banned or deleted
	CloseRateLimited     = 4008
	CloseSlowConsumer    = 4009 // outbound queue overflow: reconnect and pull
)

// Disconnect is why the server closes a connection: the close code and reason the client reads,
// and whether the client may reconnect on its own (after a backoff). Reconnect is false for codes
// that need the client to act first (a new token, a fixed client) or to stop (banned).
type Disconnect struct {
	Code      int
	Reason    string
	Reconnect bool
}

// WebSocket subprotocols.
const (
	SubprotocolV1     = "parley.v1"
	SubprotocolBearer = "bearer." // followed by the access token
)

// Frame is one WebSocket text frame in either direction. ID is the client's and comes back on the
// answer to that frame.
type Frame struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Client -> server frame types.
const (
	FrameSend   = "send"
	FrameRead   = "read"
	FrameRevoke = "revoke"
	FrameAck    = "ack"
	FrameTyping = "typing"
	FramePing   = "ping"
	// Call signaling frames; all share the CallSignal payload.
	FrameCallInvite = "call.invite"
	FrameCallAccept = "call.accept"
	FrameCallReject = "call.reject"
	FrameCallOffer  = "call.offer"
	FrameCallAnswer = "call.answer"
	FrameCallICE    = "call.ice"
	FrameCallHangup = "call.hangup"
)

// Server -> client frame types.
const (
	FrameHello               = "hello"
	FrameResult              = "result"
	FrameError               = "error"
	FramePong                = "pong"
	FrameMessage             = "message"
	FrameMessageRevoked      = "message.revoked"
	FrameMessageErased       = "message.erased"
	FrameReadPush            = "read"
	FrameTypingPush          = "typing"
	FramePresence            = "presence"
	FrameContactRequest      = "contact.request"
	FrameContactAccepted     = "contact.accepted"
	FrameContactRemoved      = "contact.removed"
	FrameConversationUpdated = "conversation.updated"
	FrameMemberAdded         = "member.added"
	FrameMemberRemoved       = "member.removed"
	FrameFileReady           = "file.ready"
	FrameFileRejected        = "file.rejected"
	FrameUserUpdated         = "user.updated"
	FrameCallTimeout         = "call.timeout"
	FrameCallBusy            = "call.busy"
	FrameSessionRevoked      = "session.revoked"
	// v1.1 pushes (issue 14).
	FrameMessageEdited = "message.edited"
	FrameReaction      = "reaction"
	FramePinsUpdated   = "pins.updated"
)

// Hello is the first frame a server sends.
type Hello struct {
	SessionID          string `json:"session_id"`
	UserID             string `json:"user_id"`
	HeartbeatIntervalS int    `json:"heartbeat_interval_s"`
}

// ErrorFrame is the data of an error frame.
type ErrorFrame struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// SendFrame is the data of a send frame: the HTTP message body plus the conversation.
type SendFrame struct {
	ConversationID string `json:"conversation_id"`
	SendMessage
}

// ReadFrame is the data of read and ack frames.
type ReadFrame struct {
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
}

// ReadResult is the data of the result answering a read frame (the im.conversation.read fact,
// renamed for the client).
type ReadResult struct {
	ConversationID string `json:"conversation_id"`
	ReadSeq        int64  `json:"read_seq"`
}

// RevokeFrame is the data of a revoke frame.
type RevokeFrame struct {
	MessageID string `json:"message_id"`
}

// TypingFrame is the data of a typing frame (client -> server); the push adds the user.
type TypingFrame struct {
	ConversationID string `json:"conversation_id"`
	State          string `json:"state"`
	UserID         string `json:"user_id,omitempty"`
}

// Typing states.
const (
	TypingStart = "start"
	TypingStop  = "stop"
)

// PresenceFrame is the data of a presence push.
type PresenceFrame struct {
	UserID string `json:"user_id"`
	Online bool   `json:"online"`
}
