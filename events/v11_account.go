package events

// The v1.1 shapes of erasure (API.md "v1.1 additions").

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
