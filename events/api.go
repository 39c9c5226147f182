package events

import (
	"encoding/json"
	"time"
)

// The objects of the public HTTP API (API.md). Functions render them, clients (e2e, load) decode them,
// and facts carry them, so each shape exists exactly once.

// User is the public view of a user.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	AvatarURL   string    `json:"avatar_url"`
	CreatedAt   time.Time `json:"created_at"`
}

// Tokens is what register, login and refresh answer.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Auth is the answer of register and login.
type Auth struct {
	User   User   `json:"user"`
	Tokens Tokens `json:"tokens"`
}

// Contact request states.
const (
	RequestPending  = "pending"
	RequestAccepted = "accepted"
	RequestRejected = "rejected"
)

// ContactRequest is a friend request.
type ContactRequest struct {
	ID         string    `json:"id"`
	FromUserID string    `json:"from_user_id"`
	ToUserID   string    `json:"to_user_id"`
	Message    string    `json:"message"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

// Contact is one entry of the contact list.
type Contact struct {
	User  User      `json:"user"`
	Since time.Time `json:"since"`
}

// Conversation types and member roles.
const (
	ConversationDirect = "direct"
	ConversationGroup  = "group"
	RoleOwner          = "owner"
	RoleAdmin          = "admin"
	RoleMember         = "member"
)

// Conversation is a conversation as one member sees it (read_seq, unread_count and role are the caller's).
type Conversation struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Title        string    `json:"title"`
	OwnerID      string    `json:"owner_id"`
	MembersCount int       `json:"members_count"`
	LastSeq      int64     `json:"last_seq"`
	ReadSeq      int64     `json:"read_seq"`
	UnreadCount  int64     `json:"unread_count"`
	LastMessage  *Message  `json:"last_message,omitempty"`
	Role         string    `json:"role"`
	UpdatedAt    time.Time `json:"updated_at"`
	// MentionCount (v1.1) is the caller's unread mentions: always present, 0 in facts.
	MentionCount int64 `json:"mention_count"`
	// MutedUntil (v1.1) is the caller's mute, only while in the future.
	MutedUntil *time.Time `json:"muted_until,omitempty"`
}

// Member is one member of a conversation; ReadSeq is its read receipt.
type Member struct {
	UserID   string    `json:"user_id"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
	ReadSeq  int64     `json:"read_seq"`
}

// Message types and statuses.
const (
	MessageText   = "text"
	MessageImage  = "image"
	MessageFile   = "file"
	MessageAudio  = "audio"
	MessageVideo  = "video"
	MessageCustom = "custom"
	MessageSystem = "system"

	StatusNormal  = "normal"
	StatusRevoked = "revoked"
	// StatusErased (v1.1): the sender erased their account's content; read like revoked.
	StatusErased = "erased"
)

// IsMediaType reports whether a message type must carry a ready file.
func IsMediaType(t string) bool {
	return t == MessageImage || t == MessageFile || t == MessageAudio || t == MessageVideo
}

// Message is a stored message. Revoked messages keep their envelope and lose their content.
type Message struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversation_id"`
	Seq            int64           `json:"seq"`
	SenderID       string          `json:"sender_id"`
	ClientMsgID    string          `json:"client_msg_id"`
	Type           string          `json:"type"`
	Text           string          `json:"text,omitempty"`
	File           *File           `json:"file,omitempty"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	Status         string          `json:"status"`
	CreatedAt      time.Time       `json:"created_at"`
	// v1.1 (API.md "Objects"): all omitted when empty.
	EditedAt   *time.Time `json:"edited_at,omitempty"`
	Reactions  []Reaction `json:"reactions,omitempty"`
	ReplyTo    *ReplyTo   `json:"reply_to,omitempty"`
	Mentions   []string   `json:"mentions,omitempty"`
	MentionAll bool       `json:"mention_all,omitempty"`
}

// Reaction is one reaction key of a message; Me (the caller reacted with it) is set only in answers
// to one caller, never in facts or pushes, which serve every member alike.
type Reaction struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
	Me    *bool  `json:"me,omitempty"`
}

// Pin is a pinned message of a conversation (v1.1); Message is rendered for the caller.
type Pin struct {
	Message  Message   `json:"message"`
	PinnedBy string    `json:"pinned_by"`
	PinnedAt time.Time `json:"pinned_at"`
}

// ReplyTo is the parent of a reply as it reads now; TextPreview is computed on read.
type ReplyTo struct {
	ID          string `json:"id"`
	Seq         int64  `json:"seq"`
	SenderID    string `json:"sender_id"`
	Type        string `json:"type"`
	TextPreview string `json:"text_preview"`
}

// File statuses.
const (
	FilePending  = "pending"
	FileReady    = "ready"
	FileRejected = "rejected"
)

// File is the metadata of an uploaded file.
type File struct {
	ID          string    `json:"id"`
	OwnerID     string    `json:"owner_id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

// Presence of one user.
type Presence struct {
	UserID     string     `json:"user_id"`
	Online     bool       `json:"online"`
	Devices    int        `json:"devices"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
}

// PresignedRequest is a presigned S3 URL and what the client must send with it.
type PresignedRequest struct {
	URL       string            `json:"url"`
	Method    string            `json:"method,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// ICEServer is one STUN/TURN server for WebRTC.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Request bodies of the HTTP API.
type (
	RegisterRequest struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name,omitempty"`
	}
	LoginRequest struct {
		Username string `json:"username"`
		Password string `json:"password"`
		DeviceID string `json:"device_id,omitempty"`
	}
	RefreshRequest struct {
		RefreshToken string `json:"refresh_token"`
	}
	LogoutRequest struct {
		RefreshToken string `json:"refresh_token,omitempty"`
	}
	UpdateMeRequest struct {
		DisplayName *string `json:"display_name,omitempty"`
		AvatarURL   *string `json:"avatar_url,omitempty"`
	}
	DeleteMeRequest struct {
		Password string `json:"password"`
		// Erase (v1.1) also erases every message the user sent, before the answer.
		Erase bool `json:"erase,omitempty"`
	}
	CreateContactRequest struct {
		UserID  string `json:"user_id"`
		Message string `json:"message,omitempty"`
	}
	BlockRequest struct {
		UserID string `json:"user_id"`
	}
	CreateConversationRequest struct {
		Type      string   `json:"type"`
		PeerID    string   `json:"peer_id,omitempty"`
		Title     string   `json:"title,omitempty"`
		MemberIDs []string `json:"member_ids,omitempty"`
	}
	UpdateConversationRequest struct {
		Title *string `json:"title,omitempty"`
	}
	AddMembersRequest struct {
		UserIDs []string `json:"user_ids"`
	}
	UpdateMemberRequest struct {
		Role string `json:"role"`
	}
	// SendMessage is the body of POST /v1/conversations/{id}/messages.
	SendMessage struct {
		ClientMsgID string          `json:"client_msg_id"`
		Type        string          `json:"type"`
		Text        string          `json:"text,omitempty"`
		FileID      string          `json:"file_id,omitempty"`
		Payload     json.RawMessage `json:"payload,omitempty"`
		// v1.1: the message replied to (a message id of the same conversation), the members
		// mentioned, and @all (owner or admin of a group only).
		ReplyTo    string   `json:"reply_to,omitempty"`
		Mentions   []string `json:"mentions,omitempty"`
		MentionAll bool     `json:"mention_all,omitempty"`
	}
	// EditMessageRequest is the body of PATCH /v1/messages/{id} (v1.1).
	EditMessageRequest struct {
		Text string `json:"text"`
	}
	ReadRequest struct {
		Seq int64 `json:"seq"`
	}
	CreateFileRequest struct {
		Filename    string `json:"filename"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
	}
)

// Answers of the HTTP API that wrap an object.
type (
	UserResponse struct {
		User User `json:"user"`
	}
	TokensResponse struct {
		Tokens Tokens `json:"tokens"`
	}
	RequestResponse struct {
		Request ContactRequest `json:"request"`
	}
	RequestsResponse struct {
		Requests []ContactRequest `json:"requests"`
	}
	ContactsResponse struct {
		Contacts []Contact `json:"contacts"`
	}
	ConversationResponse struct {
		Conversation Conversation `json:"conversation"`
	}
	ConversationsResponse struct {
		Conversations []Conversation `json:"conversations"`
	}
	ConversationDetail struct {
		Conversation Conversation `json:"conversation"`
		Members      []Member     `json:"members"`
	}
	MessageResponse struct {
		Message Message `json:"message"`
	}
	MessagesResponse struct {
		Messages []Message `json:"messages"`
		HasMore  bool      `json:"has_more"`
	}
	ReadResponse struct {
		ReadSeq int64 `json:"read_seq"`
	}
	// PinResponse answers PUT /v1/conversations/{id}/pins/{message_id} (v1.1).
	PinResponse struct {
		Pin Pin `json:"pin"`
	}
	// PinsResponse answers GET /v1/conversations/{id}/pins, newest pin first (v1.1).
	PinsResponse struct {
		Pins []Pin `json:"pins"`
	}
	// ReadByResponse answers GET /v1/conversations/{id}/read-by?seq=N: the members whose read
	// position is at or past N (v1.1 group read receipts).
	ReadByResponse struct {
		UserIDs []string `json:"user_ids"`
	}
	PresenceResponse struct {
		Presence []Presence `json:"presence"`
	}
	FileCreated struct {
		File   File             `json:"file"`
		Upload PresignedRequest `json:"upload"`
	}
	FileResponse struct {
		File      File              `json:"file"`
		Download  *PresignedRequest `json:"download,omitempty"`
		Thumbnail *PresignedRequest `json:"thumbnail,omitempty"`
	}
	TicketResponse struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}
	ICEServersResponse struct {
		ICEServers []ICEServer `json:"ice_servers"`
	}
)
