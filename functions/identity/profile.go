package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

func (f *Function) me(ctx context.Context) (userRow, error) {
	p, err := principal(ctx)
	if err != nil {
		return userRow{}, err
	}
	u, err := f.store.userByID(ctx, nil, p.UserID)
	if errors.Is(err, errNotFound) {
		return u, events.Errorf(events.CodeUnauthenticated, "this account no longer exists")
	}
	return u, err
}

func (f *Function) getMe(w http.ResponseWriter, r *http.Request) error {
	u, err := f.me(r.Context())
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.UserResponse{User: u.User})
}

func (f *Function) updateMe(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	var req events.UpdateMeRequest
	if err := serve.Decode(w, r, &req); err != nil {
		return err
	}
	if req.DisplayName != nil {
		if err := validDisplayName(*req.DisplayName); err != nil {
			return err
		}
	}
	if req.AvatarURL != nil {
		if err := validAvatarURL(*req.AvatarURL); err != nil {
			return err
		}
	}
	var u userRow
	err = f.inTx(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		var err error
		if u, err = f.store.userByID(ctx, tx, p.UserID); errors.Is(err, errNotFound) {
			return nil, events.Errorf(events.CodeUnauthenticated, "this account no longer exists")
		} else if err != nil {
			return nil, err
		}
		if req.DisplayName != nil {
			u.DisplayName = normalizeDisplayName(*req.DisplayName, u.Username)
		}
		if req.AvatarURL != nil {
			u.AvatarURL = *req.AvatarURL
		}
		if err := updateProfile(ctx, tx, u); err != nil {
			return nil, err
		}
		ev, err := fact(events.TypeUserUpdated, u.ID, events.UserFact{User: u.User})
		return []event.Event{ev}, err
	})
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.UserResponse{User: u.User})
}

func (f *Function) deleteMe(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req events.DeleteMeRequest
	if err := serve.Decode(w, r, &req); err != nil {
		return err
	}
	if req.Password == "" {
		return events.Invalid("password", "is required")
	}
	u, err := f.me(ctx)
	if err != nil {
		return err
	}
	var ok bool
	if err := f.hash(ctx, func() (err error) { ok, err = checkPassword(req.Password, u.PasswordHash); return err }); err != nil {
		return err
	}
	if !ok {
		return events.Errorf(events.CodeForbidden, "wrong password")
	}
	if req.Erase && f.d.Objects != nil {
		// Files first: should the transaction below fail, the account still exists and the client
		// retries the whole request; a retry finds the objects gone already. The prefix is the files
		// function's key layout (u/<owner>/<random>, thumbnails <key>.thumb beside it).
		if _, err := f.d.Objects.DeletePrefix(ctx, "u/"+u.ID+"/"); err != nil {
			return unavailable(fmt.Errorf("erase files: %w", err))
		}
	}
	err = f.inTx(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		live, err := deleteUser(ctx, tx, u.ID)
		if err != nil {
			return nil, err
		}
		if !live {
			return nil, events.Errorf(events.CodeUnauthenticated, "this account no longer exists")
		}
		if err := revokeUserSessions(ctx, tx, u.ID, events.SessionEndUserDeleted); err != nil {
			return nil, err
		}
		// A deleted account gets no more pushes.
		if err := deletePushDevices(ctx, tx, u.ID); err != nil {
			return nil, err
		}
		var evs []event.Event
		if req.Erase {
			if evs, err = eraseContent(ctx, tx, u.ID); err != nil {
				return nil, err
			}
		}
		deleted, err := fact(events.TypeUserDeleted, u.ID, events.UserDeleted{UserID: u.ID, Erase: req.Erase})
		if err != nil {
			return nil, err
		}
		// One user-wide revocation (no session id): the edge closes every socket of the user.
		revoked, err := fact(events.TypeSessionRevoked, u.ID, events.SessionRevoked{UserID: u.ID, Reason: events.SessionEndUserDeleted})
		return append(evs, deleted, revoked), err
	})
	if err != nil {
		return err
	}
	if err := f.d.Revocations.RevokeUser(ctx, u.ID, f.cfg.AccessTTL); err != nil {
		// The account is gone in PostgreSQL; its tokens fail every /me route, and expire within AccessTTL.
		f.d.Log.WarnContext(ctx, "denylist user failed", "user_id", u.ID, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// eraseContent erases every message userID sent (messaging.EraseSender) and the rows of the files
// they own that no message references any more, and returns one im.message.erased per conversation
// (keyed by it, so fanout delivers it in the conversation's order) and an im.conversation.pinned
// (pinned false) per pin of theirs removed.
func eraseContent(ctx context.Context, tx pgx.Tx, userID string) ([]event.Event, error) {
	erased, unpinned, err := messaging.EraseSender(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	if err := deleteUnreferencedFiles(ctx, tx, userID); err != nil {
		return nil, fmt.Errorf("erase files: %w", err)
	}
	evs := make([]event.Event, 0, len(erased))
	for _, e := range erased {
		ev, err := events.New(newID(), Source, events.TypeMessageErased, e.ConversationID, e)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	for _, p := range unpinned {
		ev, err := events.New(newID(), Source, events.TypeConversationPinned, p.ConversationID, events.ConversationPinned{
			ConversationID: p.ConversationID, MessageID: p.MessageID, Pinned: false, UserID: userID, PinnedAt: messaging.Now()})
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func (f *Function) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := f.store.userByID(r.Context(), nil, r.PathValue("id"))
	if errors.Is(err, errNotFound) {
		return events.Errorf(events.CodeNotFound, "no such user")
	}
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.UserResponse{User: u.User})
}

func (f *Function) findUser(w http.ResponseWriter, r *http.Request) error {
	name := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("username")))
	if name == "" {
		return events.Invalid("username", "is required")
	}
	u, err := f.store.userByName(r.Context(), name)
	if errors.Is(err, errNotFound) {
		return events.Errorf(events.CodeNotFound, "no such user")
	}
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.UserResponse{User: u.User})
}
