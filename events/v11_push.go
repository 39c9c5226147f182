package events

import (
	"encoding/json"
	"time"
)

// The v1.1 shapes of mute and push (API.md "v1.1 additions"): conversation settings, push devices,
// the VAPID key, and the payload a push carries to a device.

// ConversationSettings is the caller's own settings of one conversation. MutedUntil is null when
// not muted (always present in the answer).
type ConversationSettings struct {
	ConversationID string     `json:"conversation_id"`
	MutedUntil     *time.Time `json:"muted_until"`
}

// UpdateSettingsRequest is the body of PATCH /v1/conversations/{id}/settings. MutedUntil keeps the
// raw JSON so "absent" (left as is) and null (unmute) differ.
type UpdateSettingsRequest struct {
	MutedUntil json.RawMessage `json:"muted_until,omitempty"`
}

// SettingsResponse answers PATCH /v1/conversations/{id}/settings.
type SettingsResponse struct {
	Settings ConversationSettings `json:"settings"`
}

// MuteForever is the muted_until that means "until unmuted".
var MuteForever = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Push platforms.
const (
	PlatformWebPush = "webpush"
	PlatformFCM     = "fcm"
	PlatformAPNs    = "apns"
)

// WebPushKeys are a browser subscription's keys, base64url: p256dh the 65-byte uncompressed P-256
// point, auth the 16-byte authentication secret (RFC 8291).
type WebPushKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// WebPushSubscription is a browser's PushSubscription (RFC 8030 endpoint + RFC 8291 keys).
type WebPushSubscription struct {
	Endpoint string      `json:"endpoint"`
	Keys     WebPushKeys `json:"keys"`
}

// RegisterDeviceRequest is the body of POST /v1/push/devices.
type RegisterDeviceRequest struct {
	DeviceID     string               `json:"device_id"`
	Platform     string               `json:"platform"`
	Token        string               `json:"token,omitempty"`
	Subscription *WebPushSubscription `json:"subscription,omitempty"`
}

// PushDevice is a device as its owner lists it; tokens and keys are never returned.
type PushDevice struct {
	DeviceID  string    `json:"device_id"`
	Platform  string    `json:"platform"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Answers of the push routes.
type (
	DeviceResponse struct {
		Device PushDevice `json:"device"`
	}
	DevicesResponse struct {
		Devices []PushDevice `json:"devices"`
	}
	VAPIDKeyResponse struct {
		Key string `json:"key"`
	}
)

// PushMessage is what a push carries to a device (Web Push: the encrypted JSON; FCM: the same keys
// as string data; APNs: the same keys beside aps). Title and Body only with PUSH_INCLUDE_CONTENT.
type PushMessage struct {
	V                int    `json:"v"`
	Type             string `json:"type"`
	ConversationID   string `json:"conversation_id"`
	ConversationType string `json:"conversation_type"`
	MessageID        string `json:"message_id"`
	Seq              int64  `json:"seq"`
	SenderID         string `json:"sender_id"`
	Mentioned        bool   `json:"mentioned"`
	Title            string `json:"title,omitempty"`
	Body             string `json:"body,omitempty"`
}
