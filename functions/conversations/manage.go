// Package conversations manages direct and group conversations and their members, and serves what a
// member reads: the conversation list, one conversation with its members' read positions, and
// message history. Membership lives in PostgreSQL; Keto holds a mirror of the roles (kept in step
// by messaging.Mirror) that the management checks ask first, falling back to PostgreSQL roles when
// Keto does not answer.
package conversations

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
)

// Source is the CloudEvents source of this function's facts.
const Source = "/parley/conversations"

// Config of the function. Zero values take the documented defaults.
type Config struct {
	MaxCreateMembers int // members at creation besides the creator; default 1000
	MaxMembers       int // members of a group in total; default 10000
	MaxTitleChars    int // default 128
	HistoryLimit     int // default page size; default 50
	MaxHistoryLimit  int // default 200
	// MaxJSONExportMessages caps GET /v1/users/me/export in JSON (NDJSON has no cap); default 100000.
	MaxJSONExportMessages int
}

// Authorizer asks Keto with the access layer's degradation rules (*auth.Authorizer): with
// auth.Fallback, an unreachable Keto is answered by the process's PostgreSQL fallback for the
// Conversation namespace (messaging.Roles) and counted once, in infra/auth's
// parley_authz_fallback_total{namespace="Conversation",relation,mode="fallback"}; when the fallback
// cannot answer either, it returns an unavailable error.
type Authorizer interface {
	Allowed(ctx context.Context, namespace, object, relation, userID string, onOutage auth.OnOutage) (bool, error)
}

// Deps are the function's clients. Authz may be nil (Keto not configured: PostgreSQL roles decide).
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox messaging.Outbox
	Mirror *messaging.Mirror
	Authz  Authorizer
	Log    *slog.Logger
}

// Handler is the conversations function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	def := func(v *int, n int) {
		if *v <= 0 {
			*v = n
		}
	}
	def(&cfg.MaxCreateMembers, 1000)
	def(&cfg.MaxMembers, 10000)
	def(&cfg.MaxTitleChars, 128)
	def(&cfg.HistoryLimit, 50)
	def(&cfg.MaxHistoryLimit, 200)
	def(&cfg.MaxJSONExportMessages, 100000)
	if d.Mirror == nil {
		d.Mirror = messaging.NewMirror(nil, d.Log)
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the function's public routes (it consumes no events).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, nil)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	r := func(pattern string, fn serve.UserHandlerFunc) { mux.Handle(pattern, serve.UserRoute(h.d.Log, fn)) }
	r("POST /v1/conversations", h.create)
	r("GET /v1/conversations", h.list)
	r("GET /v1/conversations/{id}", h.get)
	r("PATCH /v1/conversations/{id}", h.update)
	r("POST /v1/conversations/{id}/members", h.addMembers)
	r("DELETE /v1/conversations/{id}/members/{user_id}", h.removeMember)
	r("PATCH /v1/conversations/{id}/members/{user_id}", h.updateMember)
	r("GET /v1/conversations/{id}/messages", h.history)
	r("PATCH /v1/conversations/{id}/settings", h.settings)
	r("GET /v1/users/me/export", h.export)
	r("GET /v1/conversations/{id}/read-by", h.readBy)
}

// settings sets the caller's own settings of a conversation (v1.1: mute). No fact and no push: the
// caller's other devices read it in GET /v1/conversations.
func (h *Handler) settings(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.UpdateSettingsRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	ctx, convID := r.Context(), r.PathValue("id")
	var until *time.Time
	var err error
	if body.MutedUntil == nil { // absent: left as is
		until, err = mute(ctx, h.d.Pool, convID, userID)
	} else {
		var t *time.Time
		if err := json.Unmarshal(body.MutedUntil, &t); err != nil {
			return events.Invalid("muted_until", "must be an RFC 3339 time or null")
		}
		if t != nil && !t.After(time.Now()) {
			t = nil // a past time unmutes
		}
		if t != nil && t.After(events.MuteForever) {
			return events.Invalid("muted_until", "must not be after %s", events.MuteForever.Format(time.RFC3339))
		}
		until, err = setMute(ctx, h.d.Pool, convID, userID, t)
	}
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.SettingsResponse{Settings: events.ConversationSettings{
		ConversationID: convID, MutedUntil: until}})
}

// ---- reads ----

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

// ---- creation ----

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
	var existing string
	err = h.d.Pool.QueryRow(ctx, `SELECT id FROM conversations WHERE direct_key = $1`, key).Scan(&existing)
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
		tag, err := tx.Exec(ctx, `INSERT INTO conversations (id, type, direct_key, members_count) VALUES ($1, 'direct', $2, 2)
			ON CONFLICT (direct_key) DO NOTHING`, id, key)
		if err != nil {
			return fmt.Errorf("create direct: %w", err)
		}
		if tag.RowsAffected() == 0 {
			created = false // a concurrent open won the race
			return tx.QueryRow(ctx, `SELECT id FROM conversations WHERE direct_key = $1`, key).Scan(&id)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role)
			VALUES ($1, $2, 'member'), ($1, $3, 'member')`, id, userID, peerID); err != nil {
			return fmt.Errorf("create direct members: %w", err)
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
		if _, err := tx.Exec(ctx, `INSERT INTO conversations (id, type, title, owner_id, members_count)
			VALUES ($1, 'group', $2, $3, $4)`, id, title, userID, len(all)); err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role)
			SELECT $1, u, CASE WHEN u = $3 THEN 'owner' ELSE 'member' END FROM unnest($2::text[]) AS u`,
			id, all, userID); err != nil {
			return fmt.Errorf("create group members: %w", err)
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

// ---- management ----

// authorize loads the caller's role (not found for a stranger) and checks the caller holds relation
// on a group: Keto first, PostgreSQL roles when Keto cannot answer.
func (h *Handler) authorize(ctx context.Context, convID, userID, relation string) (role, typ string, err error) {
	err = h.d.Pool.QueryRow(ctx, `SELECT cm.role, c.type FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
		WHERE cm.conversation_id = $1 AND cm.user_id = $2`, convID, userID).Scan(&role, &typ)
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
			if _, err := tx.Exec(ctx, `UPDATE conversations SET title = $2, updated_at = now() WHERE id = $1`, convID, *body.Title); err != nil {
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
		var count int
		// The row lock serializes membership changes of one group, so the size limit holds.
		if err := tx.QueryRow(ctx, `SELECT members_count FROM conversations WHERE id = $1 FOR UPDATE`, convID).Scan(&count); err != nil {
			return fmt.Errorf("lock conversation: %w", err)
		}
		rows, err := tx.Query(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role, read_seq)
			SELECT $1, u, 'member', c.last_seq FROM unnest($2::text[]) AS u, conversations c WHERE c.id = $1
			ON CONFLICT DO NOTHING RETURNING user_id`, convID, ids)
		if err != nil {
			return fmt.Errorf("add members: %w", err)
		}
		added, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("add members: %w", err)
		}
		if len(added) == 0 {
			return nil
		}
		if count+len(added) > h.cfg.MaxMembers {
			return events.Errorf(events.CodeConflict, "a group has at most %d members", h.cfg.MaxMembers)
		}
		if _, err := tx.Exec(ctx, `UPDATE conversations SET members_count = members_count + $2, updated_at = now() WHERE id = $1`,
			convID, len(added)); err != nil {
			return fmt.Errorf("members_count: %w", err)
		}
		if pending, err = h.d.Mirror.Queue(ctx, tx, convID, true, added...); err != nil {
			return err
		}
		e, err := messaging.NewFact(ctx, Source, events.TypeMemberAdded, convID,
			events.MemberFact{ConversationID: convID, UserIDs: added, Role: events.RoleMember, ActorID: actor})
		if err != nil {
			return err
		}
		emit(e)
		return nil
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
		if err := h.d.Pool.QueryRow(ctx, `SELECT cm.role, c.type FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
			WHERE cm.conversation_id = $1 AND cm.user_id = $2`, convID, actor).Scan(&actorRole, &typ); err != nil {
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
		tag, err := tx.Exec(ctx, `DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2 AND role <> 'owner'`, convID, target)
		if err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // removed concurrently: done
		}
		if _, err := tx.Exec(ctx, `UPDATE conversations SET members_count = members_count - 1, updated_at = now() WHERE id = $1`, convID); err != nil {
			return fmt.Errorf("members_count: %w", err)
		}
		e, err := messaging.NewFact(ctx, Source, events.TypeMemberRemoved, convID,
			events.MemberFact{ConversationID: convID, UserIDs: []string{target}, ActorID: actor})
		if err != nil {
			return err
		}
		emit(e)
		return nil
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
			if _, err := tx.Exec(ctx, `UPDATE conversation_members SET role = 'admin' WHERE conversation_id = $1 AND user_id = $2`, convID, actor); err != nil {
				return fmt.Errorf("hand over: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE conversations SET owner_id = $2 WHERE id = $1`, convID, target); err != nil {
				return fmt.Errorf("hand over: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE conversation_members SET role = $3 WHERE conversation_id = $1 AND user_id = $2`, convID, target, role); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE conversations SET updated_at = now() WHERE id = $1`, convID); err != nil {
			return fmt.Errorf("set role: %w", err)
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
