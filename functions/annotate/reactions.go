package annotate

import (
	"context"
	"fmt"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

// maxKeyBytes bounds a reaction key (API.md: 1-32 bytes of UTF-8).
const maxKeyBytes = 32

func (h *Handler) react(op string) serve.UserHandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, userID string) error {
		msg, err := h.React(r.Context(), userID, r.PathValue("id"), r.PathValue("key"), op)
		if err != nil {
			return err
		}
		return serve.WriteJSON(w, http.StatusOK, events.MessageResponse{Message: msg})
	}
}

// validKey checks a reaction key: an emoji or a short name, compared byte for byte, so it is kept
// exactly as given; whitespace and control characters would make keys that look alike differ.
func validKey(key string) error {
	if key == "" || len(key) > maxKeyBytes || !utf8.ValidString(key) {
		return events.Invalid("key", "must be 1 to %d bytes of UTF-8", maxKeyBytes)
	}
	for _, r := range key {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return events.Invalid("key", "must not hold whitespace or control characters")
		}
	}
	return nil
}

// React adds (op add) or removes (op remove) the caller's reaction key on a message and returns the
// message as the caller sees it. Only a real change writes a fact (im.reaction.changed, carrying
// the message's reactions after it, without me).
func (h *Handler) React(ctx context.Context, userID, messageID, key, op string) (events.Message, error) {
	if err := validKey(key); err != nil {
		return events.Message{}, err
	}
	var msg events.Message
	err := h.change(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		t, err := lockMessage(ctx, tx, messageID, userID)
		if err != nil {
			return nil, err
		}
		if t.status != events.StatusNormal {
			return nil, events.Errorf(events.CodeConflict, "the message is %s", t.status)
		}
		changed, err := h.applyReaction(ctx, tx, userID, messageID, key, op)
		if err != nil {
			return nil, err
		}
		if msg, err = messaging.LoadMessage(ctx, tx, messageID, userID); err != nil || !changed {
			return nil, err
		}
		all := make([]events.Reaction, 0, len(msg.Reactions))
		for _, r := range msg.Reactions {
			all = append(all, events.Reaction{Key: r.Key, Count: r.Count})
		}
		e, err := messaging.NewFact(ctx, Source, events.TypeReactionChanged, t.conversationID, events.ReactionChanged{
			ConversationID: t.conversationID, MessageID: messageID, UserID: userID, Key: key, Op: op, Reactions: all})
		if err != nil {
			return nil, err
		}
		return []event.Event{e}, nil
	})
	return msg, err
}

// applyReaction writes the change and reports whether there was one. The message row is locked, so
// the distinct-key count cannot change under it.
func (h *Handler) applyReaction(ctx context.Context, tx pgx.Tx, userID, messageID, key, op string) (bool, error) {
	if op == events.ReactionRemove {
		tag, err := tx.Exec(ctx, `DELETE FROM message_reactions WHERE message_id = $1 AND key = $2 AND user_id = $3`,
			messageID, key, userID)
		if err != nil {
			return false, fmt.Errorf("remove reaction: %w", err)
		}
		return tag.RowsAffected() > 0, nil
	}
	var mine, keyUsed bool
	var keys int
	if err := tx.QueryRow(ctx, `SELECT coalesce(bool_or(key = $2 AND user_id = $3), false), coalesce(bool_or(key = $2), false),
		count(DISTINCT key) FROM message_reactions WHERE message_id = $1`, messageID, key, userID).Scan(&mine, &keyUsed, &keys); err != nil {
		return false, fmt.Errorf("reactions: %w", err)
	}
	if mine {
		return false, nil
	}
	if !keyUsed && keys >= h.cfg.MaxReactionKeys {
		return false, events.Errorf(events.CodeLimitExceeded, "a message holds at most %d distinct reactions", h.cfg.MaxReactionKeys)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO message_reactions (message_id, user_id, key) VALUES ($1, $2, $3)`,
		messageID, userID, key); err != nil {
		return false, fmt.Errorf("add reaction: %w", err)
	}
	return true, nil
}
