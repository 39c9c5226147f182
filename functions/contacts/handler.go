// Package contacts runs friend requests, the contact list and blocks. Accepted contacts are what a
// direct conversation needs; a block (either way) refuses requests and direct conversations.
package contacts

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
)

// Source is the CloudEvents source of this function's facts.
const Source = "/parley/contacts"

// Config of the function. Zero values take the documented defaults.
type Config struct {
	MaxMessageChars int // request message; default 500
}

// Deps are the function's clients.
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox messaging.Outbox
	Log    *slog.Logger
}

// Handler is the contacts function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.MaxMessageChars <= 0 {
		cfg.MaxMessageChars = 500
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the function's public routes.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, nil)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	r := func(pattern string, fn serve.UserHandlerFunc) { mux.Handle(pattern, serve.UserRoute(h.d.Log, fn)) }
	r("POST /v1/contacts/requests", h.request)
	r("GET /v1/contacts/requests", h.requests)
	r("POST /v1/contacts/requests/{id}/accept", func(w http.ResponseWriter, r *http.Request, u string) error {
		return h.decide(w, r, u, events.RequestAccepted)
	})
	r("POST /v1/contacts/requests/{id}/reject", func(w http.ResponseWriter, r *http.Request, u string) error {
		return h.decide(w, r, u, events.RequestRejected)
	})
	r("GET /v1/contacts", h.contacts)
	r("DELETE /v1/contacts/{user_id}", h.remove)
	r("POST /v1/blocks", h.block)
	r("DELETE /v1/blocks/{user_id}", h.unblock)
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.CreateContactRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	req, created, err := h.Request(r.Context(), userID, body.UserID, body.Message)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK // the peer's pending request was accepted instead
	}
	return serve.WriteJSON(w, status, events.RequestResponse{Request: req})
}

// Request sends a friend request from userID to toID. When toID already has a pending request to
// userID, that request is accepted instead (both become contacts, as users expect from "add back")
// and returned with created false.
func (h *Handler) Request(ctx context.Context, userID, toID, message string) (events.ContactRequest, bool, error) {
	switch {
	case toID == "":
		return events.ContactRequest{}, false, events.Invalid("user_id", "is required")
	case toID == userID:
		return events.ContactRequest{}, false, events.Invalid("user_id", "you cannot send yourself a request")
	case utf8.RuneCountInString(message) > h.cfg.MaxMessageChars:
		return events.ContactRequest{}, false, events.Invalid("message", "must be at most %d characters", h.cfg.MaxMessageChars)
	}
	if err := h.userExists(ctx, toID); err != nil {
		return events.ContactRequest{}, false, err
	}
	req := events.ContactRequest{ID: messaging.NewID(), FromUserID: userID, ToUserID: toID, Message: message,
		Status: events.RequestPending, CreatedAt: messaging.Now()}
	created := true
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		created = true
		// Serialize requests between the same two users (either direction), so two users adding each
		// other at once end as contacts rather than with two crossed pending requests.
		if err := lockPair(ctx, tx, userID, toID); err != nil {
			return fmt.Errorf("request lock: %w", err)
		}
		blocked, contacts, err := relation(ctx, tx, userID, toID)
		if err != nil {
			return fmt.Errorf("request checks: %w", err)
		}
		switch {
		case blocked:
			return events.Errorf(events.CodeBlocked, "you cannot send a request to this user")
		case contacts:
			return events.Errorf(events.CodeConflict, "you are already contacts")
		}
		reverse, err := lockPendingRequest(ctx, tx, toID, userID)
		if err == nil {
			created = false
			fact, err := h.accept(ctx, tx, &reverse)
			if err != nil {
				return err
			}
			req = reverse
			emit(fact)
			return nil
		}
		if !messaging.IsNoRows(err) {
			return fmt.Errorf("reverse request: %w", err)
		}
		err = insertRequest(ctx, tx, req)
		if postgres.IsUniqueViolation(err, "contact_requests_one_pending") {
			return events.Errorf(events.CodeConflict, "a request to this user is already pending")
		}
		if err != nil {
			return fmt.Errorf("insert request: %w", err)
		}
		return messaging.EmitFact(ctx, emit, Source, events.TypeContactRequested, req.FromUserID, events.ContactFact{Request: req})
	})
	if err != nil {
		return events.ContactRequest{}, false, err
	}
	return req, created, nil
}

// accept marks the pending request locked in tx accepted, makes both users contacts and returns the
// im.contact.accepted fact for the caller to emit; the caller has checked that neither blocks the other.
func (h *Handler) accept(ctx context.Context, tx pgx.Tx, req *events.ContactRequest) (event.Event, error) {
	if err := decideRequest(ctx, tx, req.ID, events.RequestAccepted); err != nil {
		return event.Event{}, fmt.Errorf("accept: %w", err)
	}
	req.Status = events.RequestAccepted
	if err := insertContacts(ctx, tx, req.FromUserID, req.ToUserID); err != nil {
		return event.Event{}, fmt.Errorf("add contacts: %w", err)
	}
	e, err := messaging.NewFact(ctx, Source, events.TypeContactAccepted, req.FromUserID, events.ContactFact{Request: *req})
	if err != nil {
		return event.Event{}, err
	}
	return e, nil
}

func (h *Handler) requests(w http.ResponseWriter, r *http.Request, userID string) error {
	col := "to_user_id"
	switch r.URL.Query().Get("direction") {
	case "", "incoming":
	case "outgoing":
		col = "from_user_id"
	default:
		return events.Invalid("direction", "must be incoming or outgoing")
	}
	out, err := pendingRequests(r.Context(), h.d.Pool, col, userID)
	if err != nil {
		return fmt.Errorf("requests: %w", err)
	}
	if out == nil {
		out = []events.ContactRequest{}
	}
	return serve.WriteJSON(w, http.StatusOK, events.RequestsResponse{Requests: out})
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request, userID, status string) error {
	req, err := h.Decide(r.Context(), userID, r.PathValue("id"), status)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.RequestResponse{Request: req})
}

// Decide accepts or rejects a pending request addressed to userID. Accepting makes both contacts.
func (h *Handler) Decide(ctx context.Context, userID, requestID, status string) (events.ContactRequest, error) {
	var req events.ContactRequest
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		var err error
		req, err = lockRequest(ctx, tx, requestID)
		if messaging.IsNoRows(err) || (err == nil && req.ToUserID != userID && req.FromUserID != userID) {
			return events.Errorf(events.CodeNotFound, "request not found")
		}
		if err != nil {
			return fmt.Errorf("load request: %w", err)
		}
		if req.ToUserID != userID {
			return events.Errorf(events.CodeForbidden, "only the recipient can answer a request")
		}
		if req.Status != events.RequestPending {
			return events.Errorf(events.CodeConflict, "the request was already %s", req.Status)
		}
		if status != events.RequestAccepted {
			if err := decideRequest(ctx, tx, requestID, status); err != nil {
				return fmt.Errorf("decide: %w", err)
			}
			req.Status = status
			return nil
		}
		blocked, err := blockedEitherWay(ctx, tx, req.FromUserID, req.ToUserID)
		if err != nil {
			return fmt.Errorf("blocks: %w", err)
		}
		if blocked {
			return events.Errorf(events.CodeBlocked, "one of you has blocked the other")
		}
		e, err := h.accept(ctx, tx, &req)
		if err != nil {
			return err
		}
		emit(e)
		return nil
	})
	if err != nil {
		return events.ContactRequest{}, err
	}
	return req, nil
}

func (h *Handler) contacts(w http.ResponseWriter, r *http.Request, userID string) error {
	out, err := messaging.Contacts(r.Context(), h.d.Pool, userID)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ContactsResponse{Contacts: out})
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request, userID string) error {
	ctx, other := r.Context(), r.PathValue("user_id")
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		removed, err := deleteContacts(ctx, tx, userID, other)
		if err != nil {
			return fmt.Errorf("remove contact: %w", err)
		}
		if !removed {
			return events.Errorf(events.CodeNotFound, "contact not found")
		}
		return messaging.EmitFact(ctx, emit, Source, events.TypeContactRemoved, userID, events.ContactRemoved{UserID: userID, ContactID: other})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) block(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.BlockRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	switch {
	case body.UserID == "":
		return events.Invalid("user_id", "is required")
	case body.UserID == userID:
		return events.Invalid("user_id", "you cannot block yourself")
	}
	if err := h.userExists(ctx, body.UserID); err != nil {
		return err
	}
	err := postgres.InTx(ctx, h.d.Pool, func(tx pgx.Tx) error {
		if err := insertBlock(ctx, tx, userID, body.UserID); err != nil {
			return fmt.Errorf("block: %w", err)
		}
		// A pending request from the blocked user would otherwise still be answerable.
		return rejectPending(ctx, tx, body.UserID, userID)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) unblock(w http.ResponseWriter, r *http.Request, userID string) error {
	if err := deleteBlock(r.Context(), h.d.Pool, userID, r.PathValue("user_id")); err != nil {
		return fmt.Errorf("unblock: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) userExists(ctx context.Context, id string) error {
	ok, err := userLive(ctx, h.d.Pool, id)
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	if !ok {
		return events.Errorf(events.CodeNotFound, "user not found")
	}
	return nil
}
