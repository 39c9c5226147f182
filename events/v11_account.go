package events

import "time"

// The v1.1 shapes of erasure, data export and reports (API.md "v1.1 additions").

// MessageErased is the data of im.message.erased and of the message.erased push: blank every
// message of SenderID with seq <= UpToSeq in the conversation. One per conversation.
type MessageErased struct {
	ConversationID string `json:"conversation_id"`
	SenderID       string `json:"sender_id"`
	UpToSeq        int64  `json:"up_to_seq"`
}

// Validate checks the payload's structure.
func (f MessageErased) Validate() error {
	if err := required("conversation_id", f.ConversationID); err != nil {
		return err
	}
	return required("sender_id", f.SenderID)
}

// Export is the answer of GET /v1/users/me/export (JSON form): the caller's profile, contacts and
// conversations as their own routes list them, and every message the caller sent, oldest first.
type Export struct {
	User          User           `json:"user"`
	Contacts      []Contact      `json:"contacts"`
	Conversations []Conversation `json:"conversations"`
	Messages      []Message      `json:"messages"`
	ExportedAt    time.Time      `json:"exported_at"`
}

// ExportLine is one line of the NDJSON export: Type is user, contact, conversation, message, then
// end (whose Data is ExportEnd); a stream without the end line is incomplete.
type ExportLine struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// ExportEnd is the data of the last NDJSON line: what the stream held.
type ExportEnd struct {
	Contacts      int `json:"contacts"`
	Conversations int `json:"conversations"`
	Messages      int `json:"messages"`
}

// NDJSON export line types.
const (
	ExportUser         = "user"
	ExportContact      = "contact"
	ExportConversation = "conversation"
	ExportMessage      = "message"
	ExportEndLine      = "end"
)

// Report reasons, statuses and resolutions.
const (
	ReasonSpam    = "spam"
	ReasonAbuse   = "abuse"
	ReasonIllegal = "illegal"
	ReasonOther   = "other"

	ReportOpen     = "open"
	ReportResolved = "resolved"

	ActionDismiss       = "dismiss"
	ActionRevokeMessage = "revoke_message"
	ActionBanUser       = "ban_user"
)

// Report is a member's report of a message; Message is a snapshot taken when it was reported.
type Report struct {
	ID             string     `json:"id"`
	MessageID      string     `json:"message_id"`
	ConversationID string     `json:"conversation_id"`
	ReporterID     string     `json:"reporter_id"`
	ReportedUserID string     `json:"reported_user_id"`
	Reason         string     `json:"reason"`
	Note           string     `json:"note"`
	Status         string     `json:"status"`
	Action         string     `json:"action,omitempty"`
	ResolvedBy     string     `json:"resolved_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	Message        Message    `json:"message"`
}

// Request and answer bodies of the report routes.
type (
	ReportRequest struct {
		Reason string `json:"reason"`
		Note   string `json:"note,omitempty"`
	}
	ResolveReportRequest struct {
		Action string `json:"action"`
		Note   string `json:"note,omitempty"`
	}
	ReportResponse struct {
		Report Report `json:"report"`
	}
	ReportsResponse struct {
		Reports []Report `json:"reports"`
		HasMore bool     `json:"has_more"`
	}
)

// ReportFact is the data of im.report.created and im.report.resolved.
type ReportFact struct {
	Report Report `json:"report"`
}

// Validate checks the payload's structure.
func (f ReportFact) Validate() error {
	if err := required("report.id", f.Report.ID); err != nil {
		return err
	}
	return required("report.message_id", f.Report.MessageID)
}
