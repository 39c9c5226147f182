package events

import (
	"encoding/json"
	"time"
)

// Payloads (CloudEvent data) of commands, facts and deliveries. Every payload has Validate, which checks
// its structure (required ids, known enums); configurable limits (text length, group size) are the
// functions' to enforce.

// SendCommand asks the send function to store a message (im.message.send).
type SendCommand struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
	SendMessage
}

// Validate checks the command's structure.
func (c SendCommand) Validate() error {
	if err := required("user_id", c.UserID); err != nil {
		return err
	}
	if err := required("conversation_id", c.ConversationID); err != nil {
		return err
	}
	return c.SendMessage.Validate()
}

// Validate checks a message body that does not depend on configuration.
func (m SendMessage) Validate() error {
	if err := required("client_msg_id", m.ClientMsgID); err != nil {
		return err
	}
	if len(m.ClientMsgID) > 64 {
		return Invalid("client_msg_id", "must be at most 64 characters")
	}
	switch m.Type {
	case MessageText:
		if m.Text == "" {
			return Invalid("text", "is required for text messages")
		}
	case MessageImage, MessageFile, MessageAudio, MessageVideo:
		if m.FileID == "" {
			return Invalid("file_id", "is required for %s messages", m.Type)
		}
	case MessageCustom:
		if len(m.Payload) == 0 {
			return Invalid("payload", "is required for custom messages")
		}
	case "":
		return Invalid("type", "is required")
	default:
		// system messages are written by the server only.
		return Invalid("type", "must be one of text, image, file, audio, video, custom")
	}
	if len(m.Payload) > 0 && !json.Valid(m.Payload) {
		return Invalid("payload", "must be JSON")
	}
	return nil
}

// ReadCommand moves a member's read position (im.message.read).
type ReadCommand struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
}

// Validate checks the command's structure.
func (c ReadCommand) Validate() error {
	if err := required("user_id", c.UserID); err != nil {
		return err
	}
	if err := required("conversation_id", c.ConversationID); err != nil {
		return err
	}
	if c.Seq < 0 {
		return Invalid("seq", "must not be negative")
	}
	return nil
}

// RevokeCommand recalls a message (im.message.revoke).
type RevokeCommand struct {
	UserID    string `json:"user_id"`
	MessageID string `json:"message_id"`
}

// Validate checks the command's structure.
func (c RevokeCommand) Validate() error {
	if err := required("user_id", c.UserID); err != nil {
		return err
	}
	return required("message_id", c.MessageID)
}

// TypingCommand is an ephemeral typing signal (im.typing.update); never stored.
type TypingCommand struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
	State          string `json:"state"`
}

// Validate checks the command's structure.
func (c TypingCommand) Validate() error {
	if err := required("user_id", c.UserID); err != nil {
		return err
	}
	if err := required("conversation_id", c.ConversationID); err != nil {
		return err
	}
	if c.State != TypingStart && c.State != TypingStop {
		return Invalid("state", "must be start or stop")
	}
	return nil
}

// CallSignal is one WebRTC signaling step (im.call.signal, and the data of call.* frames).
// Kind is the frame type without its "call." prefix: invite, accept, reject, offer, answer, ice, hangup, timeout, busy.
type CallSignal struct {
	Kind           string          `json:"kind,omitempty"`
	CallID         string          `json:"call_id"`
	FromUserID     string          `json:"from_user_id,omitempty"`
	ConversationID string          `json:"conversation_id,omitempty"`
	ToUserID       string          `json:"to_user_id,omitempty"`
	SDP            string          `json:"sdp,omitempty"`
	Candidate      json.RawMessage `json:"candidate,omitempty"`
}

// Validate checks the signal's structure.
func (c CallSignal) Validate() error {
	if err := required("call_id", c.CallID); err != nil {
		return err
	}
	switch c.Kind {
	case "invite", "accept", "reject", "offer", "answer", "ice", "hangup", "timeout", "busy":
	default:
		return Invalid("kind", "unknown call signal %q", c.Kind)
	}
	if c.Kind == "invite" && c.ConversationID == "" && c.ToUserID == "" {
		return Invalid("conversation_id", "an invite needs conversation_id or to_user_id")
	}
	return nil
}

// CommandRejected is a function's answer to a command it refuses (im.command.rejected).
type CommandRejected struct {
	CorrelationID string `json:"correlationid"`
	UserID        string `json:"user_id"`
	Code          Code   `json:"code"`
	Message       string `json:"message"`
}

// Validate checks the payload's structure.
func (c CommandRejected) Validate() error {
	if err := required("user_id", c.UserID); err != nil {
		return err
	}
	return required("code", string(c.Code))
}

// UserFact is the data of im.user.registered and im.user.updated.
type UserFact struct {
	User User `json:"user"`
}

// Validate checks the payload's structure.
func (f UserFact) Validate() error { return required("user.id", f.User.ID) }

// UserDeleted is the data of im.user.deleted.
type UserDeleted struct {
	UserID string `json:"user_id"`
	// Erase (v1.1): the user's messages were erased too.
	Erase bool `json:"erase,omitempty"`
}

// Validate checks the payload's structure.
func (f UserDeleted) Validate() error { return required("user_id", f.UserID) }

// SessionRevoked is the data of im.session.revoked: one session (logout), or all of a user's sessions
// when SessionID is empty (deletion, ban, password change).
type SessionRevoked struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id,omitempty"`
	Reason    string `json:"reason"`
}

// Validate checks the payload's structure.
func (f SessionRevoked) Validate() error { return required("user_id", f.UserID) }

// Session-end reasons: SessionRevoked.Reason, as identity (and the bans it applies) publishes them.
const (
	SessionEndLogout       = "logout"
	SessionEndRefreshReuse = "refresh_token_reuse" // a refresh token was used twice: its family is revoked
	SessionEndUserDeleted  = "user_deleted"
	SessionEndBanned       = "banned"
)

// SessionEndIsFinal reports whether a session ended for reason must not come back: the account is
// banned or deleted, so the edge closes with CloseBanned (do not reconnect) rather than
// CloseUnauthenticated (get a new token).
func SessionEndIsFinal(reason string) bool {
	return reason == SessionEndBanned || reason == SessionEndUserDeleted
}

// ContactFact is the data of im.contact.requested and im.contact.accepted.
type ContactFact struct {
	Request ContactRequest `json:"request"`
}

// Validate checks the payload's structure.
func (f ContactFact) Validate() error {
	if err := required("request.from_user_id", f.Request.FromUserID); err != nil {
		return err
	}
	return required("request.to_user_id", f.Request.ToUserID)
}

// ContactRemoved is the data of im.contact.removed.
type ContactRemoved struct {
	UserID    string `json:"user_id"`
	ContactID string `json:"contact_id"`
}

// Validate checks the payload's structure.
func (f ContactRemoved) Validate() error {
	if err := required("user_id", f.UserID); err != nil {
		return err
	}
	return required("contact_id", f.ContactID)
}

// ConversationFact is the data of im.conversation.created and im.conversation.updated. The conversation
// is rendered without caller-specific fields (read_seq, unread_count, role).
type ConversationFact struct {
	Conversation Conversation `json:"conversation"`
	MemberIDs    []string     `json:"member_ids,omitempty"`
	ActorID      string       `json:"actor_id,omitempty"`
}

// Validate checks the payload's structure.
func (f ConversationFact) Validate() error { return required("conversation.id", f.Conversation.ID) }

// MemberFact is the data of im.member.added and im.member.removed.
type MemberFact struct {
	ConversationID string   `json:"conversation_id"`
	UserIDs        []string `json:"user_ids"`
	Role           string   `json:"role,omitempty"`
	ActorID        string   `json:"actor_id,omitempty"`
}

// Validate checks the payload's structure.
func (f MemberFact) Validate() error {
	if err := required("conversation_id", f.ConversationID); err != nil {
		return err
	}
	if len(f.UserIDs) == 0 {
		return Invalid("user_ids", "is required")
	}
	return nil
}

// MessageFact is the data of im.message.created, im.message.revoked and im.message.edited.
type MessageFact struct {
	Message Message `json:"message"`
	ActorID string  `json:"actor_id,omitempty"`
}

// Validate checks the payload's structure.
func (f MessageFact) Validate() error {
	if err := required("message.id", f.Message.ID); err != nil {
		return err
	}
	return required("message.conversation_id", f.Message.ConversationID)
}

// Reaction operations (v1.1).
const (
	ReactionAdd    = "add"
	ReactionRemove = "remove"
)

// ReactionChanged is the data of im.reaction.changed and of the reaction push (v1.1): one user's add
// or remove and the message's reactions after it, without Me (one encoding serves every member).
type ReactionChanged struct {
	ConversationID string     `json:"conversation_id"`
	MessageID      string     `json:"message_id"`
	UserID         string     `json:"user_id"`
	Key            string     `json:"key"`
	Op             string     `json:"op"`
	Reactions      []Reaction `json:"reactions"`
}

// Validate checks the payload's structure.
func (f ReactionChanged) Validate() error {
	for _, r := range []struct{ n, v string }{{"conversation_id", f.ConversationID}, {"message_id", f.MessageID},
		{"user_id", f.UserID}, {"key", f.Key}} {
		if err := required(r.n, r.v); err != nil {
			return err
		}
	}
	if f.Op != ReactionAdd && f.Op != ReactionRemove {
		return Invalid("op", "must be add or remove")
	}
	return nil
}

// ConversationPinned is the data of im.conversation.pinned (v1.1); the pins.updated push carries
// the same object (clients ignore pinned_at).
type ConversationPinned struct {
	ConversationID string    `json:"conversation_id"`
	MessageID      string    `json:"message_id"`
	Pinned         bool      `json:"pinned"`
	UserID         string    `json:"user_id"`
	PinnedAt       time.Time `json:"pinned_at"`
}

// Validate checks the payload's structure.
func (f ConversationPinned) Validate() error {
	if err := required("conversation_id", f.ConversationID); err != nil {
		return err
	}
	if err := required("message_id", f.MessageID); err != nil {
		return err
	}
	return required("user_id", f.UserID)
}

// ConversationRead is the data of im.conversation.read (and of the read push).
type ConversationRead struct {
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	Seq            int64  `json:"seq"`
}

// Validate checks the payload's structure.
func (f ConversationRead) Validate() error {
	if err := required("conversation_id", f.ConversationID); err != nil {
		return err
	}
	return required("user_id", f.UserID)
}

// FileFact is the data of im.file.uploaded and im.file.rejected.
type FileFact struct {
	File   File   `json:"file"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks the payload's structure.
func (f FileFact) Validate() error { return required("file.id", f.File.ID) }

// PresenceChanged is the data of im.presence.changed.
type PresenceChanged struct {
	UserID     string    `json:"user_id"`
	Online     bool      `json:"online"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// Validate checks the payload's structure.
func (f PresenceChanged) Validate() error { return required("user_id", f.UserID) }

// Delivery is the data of im.delivery: one event (a fact or an ephemeral signal) and the users it must
// reach. The socket-edge renders Event into one frame and writes the same bytes to every recipient it holds.
// A ReplyOnly delivery pushes nothing: it only answers the frame Event.CorrelationID names (fanout sends
// one to the sender of a message fact that arrived after its message was already delivered).
type Delivery struct {
	Recipients []string `json:"recipients"`
	// ExceptSession, when set, is a session that must not receive this delivery (its own echo).
	ExceptSession string         `json:"except_session,omitempty"`
	Event         DeliveredEvent `json:"event"`
	// ReplyOnly: answer the correlated pending frame with Event, push nothing to anyone.
	ReplyOnly bool `json:"reply_only,omitempty"`
}

// DeliveredEvent is the part of a CloudEvent the edge needs.
type DeliveredEvent struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	Subject       string    `json:"subject,omitempty"`
	CorrelationID string    `json:"correlationid,omitempty"`
	Time          time.Time `json:"time"`
	// ConversationID and Seq are the message's position, set by the producer on a message fact
	// (PushFrame.Acked), so the edge reads them here rather than decoding Data for every delivery.
	// Empty on other events, and on deliveries from producers older than these fields.
	ConversationID string          `json:"conversation_id,omitempty"`
	Seq            int64           `json:"seq,omitempty"`
	Data           json.RawMessage `json:"data"`
}

// Validate checks the payload's structure.
func (d Delivery) Validate() error {
	if len(d.Recipients) == 0 {
		return Invalid("recipients", "is required")
	}
	if err := required("event.id", d.Event.ID); err != nil {
		return err
	}
	return required("event.type", d.Event.Type)
}

func required(field, v string) error {
	if v == "" {
		return Invalid(field, "is required")
	}
	return nil
}
