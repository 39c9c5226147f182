package conversations

import (
	"net/http"
	"strconv"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

func (h *Handler) list(w http.ResponseWriter, r *http.Request, userID string) error {
	cs, err := list(r.Context(), h.d.Pool, userID)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ConversationsResponse{Conversations: cs})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, userID string) error {
	c, err := view(r.Context(), h.d.Pool, r.PathValue("id"), userID)
	if err != nil {
		return err
	}
	ms, err := members(r.Context(), h.d.Pool, c.ID)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ConversationDetail{Conversation: c, Members: ms})
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request, userID string) error {
	q := r.URL.Query()
	num := func(name string) (int64, error) {
		s := q.Get(name)
		if s == "" {
			return 0, nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return 0, events.Invalid(name, "must be a non-negative integer")
		}
		return v, nil
	}
	after, err := num("after_seq")
	if err != nil {
		return err
	}
	before, err := num("before_seq")
	if err != nil {
		return err
	}
	limit, err := num("limit")
	if err != nil {
		return err
	}
	if q.Has("limit") && (limit < 1 || limit > int64(h.cfg.MaxHistoryLimit)) {
		return events.Invalid("limit", "must be between 1 and %d", h.cfg.MaxHistoryLimit)
	}
	convID := r.PathValue("id")
	if _, err := messaging.Role(r.Context(), h.d.Pool, convID, userID); err != nil {
		return err
	}
	page := messaging.Page{AfterSeq: after, BeforeSeq: before, Forward: q.Has("after_seq"), Viewer: userID,
		Limit: messaging.Limit(int(limit), h.cfg.HistoryLimit, h.cfg.MaxHistoryLimit)}
	msgs, more, err := messaging.History(r.Context(), h.d.Pool, convID, page)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.MessagesResponse{Messages: msgs, HasMore: more})
}

// readBy answers "who has read seq N" (v1.1 group read receipts): the members whose read position
// is at or past seq, from the members' primary key range (no per-message receipt rows are kept: a
// read moves one counter per member, and any message's readers follow from it).
func (h *Handler) readBy(w http.ResponseWriter, r *http.Request, userID string) error {
	seq, err := strconv.ParseInt(r.URL.Query().Get("seq"), 10, 64)
	if err != nil || seq < 1 {
		return events.Invalid("seq", "must be a positive integer")
	}
	convID := r.PathValue("id")
	if _, err := messaging.Role(r.Context(), h.d.Pool, convID, userID); err != nil {
		return err
	}
	ids, err := readBy(r.Context(), h.d.Pool, convID, seq)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ReadByResponse{UserIDs: ids})
}
