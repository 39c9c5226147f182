package annotate

import (
	"context"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

func (h *Handler) edit(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.EditMessageRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	msg, err := h.Edit(r.Context(), userID, r.PathValue("id"), body.Text)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.MessageResponse{Message: msg})
}

// Edit replaces the text of a text message its sender sent within the edit window and returns the
// message as the caller sees it. seq, created_at and mentions stay; search_text follows the text, so
// search finds the message by its new text only. The same text again answers without a fact.
func (h *Handler) Edit(ctx context.Context, userID, messageID, text string) (events.Message, error) {
	if text == "" {
		return events.Message{}, events.Invalid("text", "is required")
	}
	if n := utf8.RuneCountInString(text); n > h.cfg.MaxTextChars || !utf8.ValidString(text) {
		return events.Message{}, events.Invalid("text", "must be 1 to %d characters of UTF-8", h.cfg.MaxTextChars)
	}
	var msg events.Message
	err := h.change(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		t, err := lockMessage(ctx, tx, messageID, userID)
		if err != nil {
			return nil, err
		}
		switch {
		case t.senderID != userID:
			return nil, events.Errorf(events.CodeForbidden, "only the sender may edit a message")
		case t.typ != events.MessageText:
			return nil, events.Invalid("type", "only text messages can be edited")
		case t.status != events.StatusNormal:
			return nil, events.Errorf(events.CodeConflict, "the message is %s", t.status)
		case time.Since(t.created) > h.cfg.EditWindow:
			return nil, events.Errorf(events.CodeEditWindowExpired, "messages can be edited within %s of sending", h.cfg.EditWindow)
		}
		if t.text == text {
			msg, err = messaging.LoadMessage(ctx, tx, messageID, userID)
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET text = $2, search_text = $3, edited_at = $4 WHERE id = $1`,
			messageID, text, messaging.SearchText(text), messaging.Now()); err != nil {
			return nil, fmt.Errorf("edit: %w", err)
		}
		// The fact carries the message as history shows it to anyone (reactions without me).
		shared, err := messaging.LoadMessage(ctx, tx, messageID, "")
		if err != nil {
			return nil, err
		}
		e, err := messaging.NewFact(ctx, Source, events.TypeMessageEdited, shared.ConversationID,
			events.MessageFact{Message: shared, ActorID: userID})
		if err != nil {
			return nil, err
		}
		msg, err = messaging.LoadMessage(ctx, tx, messageID, userID)
		return []event.Event{e}, err
	})
	return msg, err
}
