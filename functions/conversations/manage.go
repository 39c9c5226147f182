package conversations

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
)

// authorize loads the caller's role (not found for a stranger) and checks the caller holds relation
// on a group: Keto first, PostgreSQL roles when Keto cannot answer.
func (h *Handler) authorize(ctx context.Context, convID, userID, relation string) (role, typ string, err error) {
	role, typ, err = membership(ctx, h.d.Pool, convID, userID)
	if messaging.IsNoRows(err) {
		return "", "", messaging.ErrNotFound()
	}
	if err != nil {
		return "", "", fmt.Errorf("membership: %w", err)
	}
	if typ != events.ConversationGroup {
		return role, typ, events.Errorf(events.CodeForbidden, "direct conversations have no management")
	}
	allowed := messaging.RoleHolds(role, relation)
	if h.d.Authz != nil {
		if allowed, err = h.d.Authz.Allowed(ctx, keto.NamespaceConversation, convID, relation, userID, auth.Fallback); err != nil {
			return role, typ, err
		}
	}
	if !allowed {
		return role, typ, events.Errorf(events.CodeForbidden, "this needs the %s permission on the conversation", relation)
	}
	return role, typ, nil
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.UpdateConversationRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	ctx, convID := r.Context(), r.PathValue("id")
	if _, _, err := h.authorize(ctx, convID, userID, messaging.PermitManage); err != nil {
		return err
	}
	if body.Title != nil {
		if err := h.checkTitle(*body.Title); err != nil {
			return err
		}
		err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
			if err := rename(ctx, tx, convID, *body.Title); err != nil {
				return fmt.Errorf("rename: %w", err)
			}
			facts, err := h.updatedFact(ctx, tx, convID, userID, nil)
			if err != nil {
				return err
			}
			emit(facts...)
			return nil
		})
		if err != nil {
			return err
		}
	}
	c, err := view(ctx, h.d.Pool, convID, userID)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ConversationResponse{Conversation: c})
}

func (h *Handler) updatedFact(ctx context.Context, tx pgx.Tx, id, actor string, memberIDs []string) ([]event.Event, error) {
	c, err := shared(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	e, err := messaging.NewFact(ctx, Source, events.TypeConversationUpdated, id,
		events.ConversationFact{Conversation: c, MemberIDs: memberIDs, ActorID: actor})
	if err != nil {
		return nil, err
	}
	return []event.Event{e}, nil
}

func (h *Handler) addMembers(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.AddMembersRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	ctx, convID := r.Context(), r.PathValue("id")
	if err := h.AddMembers(ctx, convID, userID, body.UserIDs); err != nil {
		return err
	}
	c, err := view(ctx, h.d.Pool, convID, userID)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ConversationResponse{Conversation: c})
}

// AddMembers adds userIDs to a group as members; those already in it are skipped.
func (h *Handler) AddMembers(ctx context.Context, convID, actor string, userIDs []string) error {
	ids := dedupe(userIDs, "")
	if len(ids) == 0 {
		return events.Invalid("user_ids", "is required")
	}
	if len(ids) > h.cfg.MaxMembers {
		return events.Invalid("user_ids", "a group has at most %d members", h.cfg.MaxMembers)
	}
	if _, _, err := h.authorize(ctx, convID, actor, messaging.PermitManage); err != nil {
		return err
	}
	if err := h.checkUsers(ctx, ids); err != nil {
		return err
	}
	var pending messaging.Pending
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		// The row lock serializes membership changes of one group, so the size limit holds.
		count, err := lockMembersCount(ctx, tx, convID)
		if err != nil {
			return err
		}
		added, err := insertMembers(ctx, tx, convID, ids)
		if err != nil {
			return err
		}
		if len(added) == 0 {
			return nil
		}
		if count+len(added) > h.cfg.MaxMembers {
			return events.Errorf(events.CodeConflict, "a group has at most %d members", h.cfg.MaxMembers)
		}
		if err := addMembersCount(ctx, tx, convID, len(added)); err != nil {
			return err
		}
		if pending, err = h.d.Mirror.Queue(ctx, tx, convID, true, added...); err != nil {
			return err
		}
		return messaging.EmitFact(ctx, emit, Source, events.TypeMemberAdded, convID,
			events.MemberFact{ConversationID: convID, UserIDs: added, Role: events.RoleMember, ActorID: actor})
	})
	if err != nil {
		return err
	}
	h.afterCommit(ctx, pending)
	return nil
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, userID string) error {
	if err := h.RemoveMember(r.Context(), r.PathValue("id"), userID, r.PathValue("user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RemoveMember removes target from a group; target == actor is leaving. The owner cannot leave
// before handing ownership over; an admin removes members only.
func (h *Handler) RemoveMember(ctx context.Context, convID, actor, target string) error {
	var actorRole, targetRole, typ string
	if target == actor {
		var err error
		if actorRole, typ, err = membership(ctx, h.d.Pool, convID, actor); err != nil {
			if messaging.IsNoRows(err) {
				return messaging.ErrNotFound()
			}
			return fmt.Errorf("membership: %w", err)
		}
		if typ != events.ConversationGroup {
			return events.Errorf(events.CodeForbidden, "you cannot leave a direct conversation")
		}
		if actorRole == events.RoleOwner {
			return events.Errorf(events.CodeConflict, "the owner must hand ownership over before leaving")
		}
		targetRole = actorRole
	} else {
		var err error
		if actorRole, _, err = h.authorize(ctx, convID, actor, messaging.PermitManage); err != nil {
			return err
		}
		if targetRole, err = messaging.Role(ctx, h.d.Pool, convID, target); err != nil {
			return events.Errorf(events.CodeNotFound, "member not found")
		}
		if targetRole == events.RoleOwner || (targetRole == events.RoleAdmin && actorRole != events.RoleOwner) {
			return events.Errorf(events.CodeForbidden, "only the owner removes admins, and the owner cannot be removed")
		}
	}
	// Revocations go to Keto first: if it fails, nothing changes (fail closed).
	if err := h.d.Mirror.RevokeFirst(ctx, convID, target, reversed(messaging.RelationsOf(targetRole))...); err != nil {
		return err
	}
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		removed, err := deleteMember(ctx, tx, convID, target)
		if err != nil {
			return err
		}
		if !removed {
			return nil // removed concurrently: done
		}
		if err := addMembersCount(ctx, tx, convID, -1); err != nil {
			return err
		}
		return messaging.EmitFact(ctx, emit, Source, events.TypeMemberRemoved, convID,
			events.MemberFact{ConversationID: convID, UserIDs: []string{target}, ActorID: actor})
	})
	return err
}

func (h *Handler) updateMember(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.UpdateMemberRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	ctx, convID := r.Context(), r.PathValue("id")
	if err := h.SetRole(ctx, convID, userID, r.PathValue("user_id"), body.Role); err != nil {
		return err
	}
	c, err := view(ctx, h.d.Pool, convID, userID)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ConversationResponse{Conversation: c})
}

// SetRole changes target's role; only the owner may. role "owner" hands ownership over: target
// becomes the owner and the previous owner an admin.
func (h *Handler) SetRole(ctx context.Context, convID, actor, target, role string) error {
	if role != events.RoleAdmin && role != events.RoleMember && role != events.RoleOwner {
		return events.Invalid("role", "must be admin, member or owner")
	}
	if _, _, err := h.authorize(ctx, convID, actor, messaging.PermitOwn); err != nil {
		return err
	}
	if target == actor {
		return events.Invalid("user_id", "the owner changes role only by handing ownership to another member")
	}
	current, err := messaging.Role(ctx, h.d.Pool, convID, target)
	if err != nil {
		return events.Errorf(events.CodeNotFound, "member not found")
	}
	if current == role {
		return nil
	}
	// Revocations first (fail closed): a demoted admin loses admins, a handing-over owner loses owners.
	switch {
	case role == events.RoleMember:
		err = h.d.Mirror.RevokeFirst(ctx, convID, target, messaging.RelationAdmins)
	case role == events.RoleOwner:
		err = h.d.Mirror.RevokeFirst(ctx, convID, actor, messaging.RelationOwners)
	}
	if err != nil {
		return err
	}
	var pending messaging.Pending
	err = h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		affected := []string{target}
		if role == events.RoleOwner {
			affected = append(affected, actor)
			if err := handOver(ctx, tx, convID, actor, target); err != nil {
				return err
			}
		}
		if err := setRole(ctx, tx, convID, target, role); err != nil {
			return err
		}
		var err error
		if pending, err = h.d.Mirror.Queue(ctx, tx, convID, false, affected...); err != nil {
			return err
		}
		facts, err := h.updatedFact(ctx, tx, convID, actor, affected)
		if err != nil {
			return err
		}
		emit(facts...)
		return nil
	})
	if err != nil {
		return err
	}
	h.afterCommit(ctx, pending)
	return nil
}

// ---- validation ----

func (h *Handler) checkTitle(title string) error {
	if title == "" {
		return events.Invalid("title", "is required")
	}
	if utf8.RuneCountInString(title) > h.cfg.MaxTitleChars {
		return events.Invalid("title", "must be at most %d characters", h.cfg.MaxTitleChars)
	}
	return nil
}

func (h *Handler) checkUsers(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	found, err := existingUsers(ctx, h.d.Pool, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !found[id] {
			return events.Invalid("user_ids", "unknown user %s", id)
		}
	}
	return nil
}

// dedupe drops empty ids, duplicates and skip, keeping the order.
func dedupe(ids []string, skip string) []string {
	seen := map[string]bool{skip: true, "": true}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// reversed revokes the strongest relation first, so a half-done revocation never leaves more power.
func reversed(rs []string) []string {
	out := slices.Clone(rs)
	slices.Reverse(out)
	return out
}
