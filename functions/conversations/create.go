package conversations

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
)

func (h *Handler) create(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.CreateConversationRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	switch body.Type {
	case events.ConversationDirect:
		c, created, err := h.CreateDirect(r.Context(), userID, body.PeerID)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return serve.WriteJSON(w, status, events.ConversationResponse{Conversation: c})
	case events.ConversationGroup:
		c, err := h.CreateGroup(r.Context(), userID, body.Title, body.MemberIDs)
		if err != nil {
			return err
		}
		return serve.WriteJSON(w, http.StatusCreated, events.ConversationResponse{Conversation: c})
	}
	return events.Invalid("type", "must be direct or group")
}

// CreateDirect opens the one direct conversation of userID and peerID; created is false when it
// already existed. It needs an accepted contact and no block either way.
func (h *Handler) CreateDirect(ctx context.Context, userID, peerID string) (events.Conversation, bool, error) {
	switch {
	case peerID == "":
		return events.Conversation{}, false, events.Invalid("peer_id", "is required")
	case peerID == userID:
		return events.Conversation{}, false, events.Invalid("peer_id", "cannot open a conversation with yourself")
	}
	found, err := existingUsers(ctx, h.d.Pool, []string{peerID})
	if err != nil {
		return events.Conversation{}, false, err
	}
	if !found[peerID] {
		return events.Conversation{}, false, events.Errorf(events.CodeNotFound, "user not found")
	}
	blocked, err := blockedEitherWay(ctx, h.d.Pool, userID, peerID)
	if err != nil {
		return events.Conversation{}, false, err
	}
	if blocked {
		return events.Conversation{}, false, events.Errorf(events.CodeBlocked, "one of you has blocked the other")
	}
	key := directKey(userID, peerID)
	existing, err := directID(ctx, h.d.Pool, key)
	if err == nil {
		c, err := view(ctx, h.d.Pool, existing, userID)
		return c, false, err
	}
	if !messaging.IsNoRows(err) {
		return events.Conversation{}, false, fmt.Errorf("direct conversation: %w", err)
	}
	ok, err := areContacts(ctx, h.d.Pool, userID, peerID)
	if err != nil {
		return events.Conversation{}, false, err
	}
	if !ok {
		return events.Conversation{}, false, events.Errorf(events.CodeNotContacts, "you can only message your contacts")
	}
	id := messaging.NewID()
	var pending messaging.Pending
	created := true
	err = h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		created = true
		inserted, err := insertDirect(ctx, tx, id, key, userID, peerID)
		if err != nil {
			return err
		}
		if !inserted {
			created = false // a concurrent open won the race
			id, err = directID(ctx, tx, key)
			return err
		}
		if pending, err = h.d.Mirror.Queue(ctx, tx, id, true, userID, peerID); err != nil {
			return err
		}
		facts, err := h.createdFact(ctx, tx, id, userID, []string{userID, peerID})
		if err != nil {
			return err
		}
		emit(facts...)
		return nil
	})
	if err != nil {
		return events.Conversation{}, false, err
	}
	h.afterCommit(ctx, pending)
	c, err := view(ctx, h.d.Pool, id, userID)
	return c, created, err
}

// CreateGroup creates a group owned by userID with the given members.
func (h *Handler) CreateGroup(ctx context.Context, userID, title string, memberIDs []string) (events.Conversation, error) {
	if err := h.checkTitle(title); err != nil {
		return events.Conversation{}, err
	}
	ids := dedupe(memberIDs, userID)
	if len(ids) > h.cfg.MaxCreateMembers {
		return events.Conversation{}, events.Invalid("member_ids", "at most %d members at creation", h.cfg.MaxCreateMembers)
	}
	if err := h.checkUsers(ctx, ids); err != nil {
		return events.Conversation{}, err
	}
	id := messaging.NewID()
	all := append([]string{userID}, ids...)
	var pending messaging.Pending
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		if err := insertGroup(ctx, tx, id, title, userID, all); err != nil {
			return err
		}
		var err error
		if pending, err = h.d.Mirror.Queue(ctx, tx, id, true, all...); err != nil {
			return err
		}
		facts, err := h.createdFact(ctx, tx, id, userID, all)
		if err != nil {
			return err
		}
		emit(facts...)
		return nil
	})
	if err != nil {
		return events.Conversation{}, err
	}
	h.afterCommit(ctx, pending)
	return view(ctx, h.d.Pool, id, userID)
}

func (h *Handler) createdFact(ctx context.Context, tx pgx.Tx, id, actor string, memberIDs []string) ([]event.Event, error) {
	c, err := shared(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	e, err := messaging.NewFact(ctx, Source, events.TypeConversationCreated, id,
		events.ConversationFact{Conversation: c, MemberIDs: memberIDs, ActorID: actor})
	if err != nil {
		return nil, err
	}
	return []event.Event{e}, nil
}

// afterCommit mirrors the committed grants to Keto (the committed facts are published by then).
func (h *Handler) afterCommit(ctx context.Context, pending messaging.Pending) {
	h.d.Mirror.Apply(ctx, h.d.Pool, pending)
}
