package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/bans"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
)

// Session revocation reasons (im.session.revoked).
const (
	ReasonLogout       = "logout"
	ReasonRefreshReuse = "refresh_token_reuse"
	ReasonUserDeleted  = "user_deleted"
	ReasonBanned       = bans.ReasonBanned
)

var errBadCredentials = events.Errorf(events.CodeUnauthenticated, "invalid username or password")

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func unavailable(err error) error {
	e := events.Wrap(events.CodeUnavailable, err, "temporarily unavailable, retry shortly")
	e.RetryAfter = time.Second
	return e
}

func fact(typ, userID string, data events.Validator) (event.Event, error) {
	return events.New(newID(), Source, typ, userID, data)
}

// inTx runs fn in a transaction that adds the facts fn returns to the outbox, and publishes them
// after commit. fn may run more than once (serialization retries).
func (f *Function) inTx(ctx context.Context, fn func(tx pgx.Tx) ([]event.Event, error)) error {
	return f.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		evs, err := fn(tx)
		if err != nil {
			return err
		}
		emit(evs...)
		return nil
	})
}

// ---- OIDC issuer ----

func (f *Function) discovery(w http.ResponseWriter, _ *http.Request) error {
	iss := strings.TrimSuffix(f.cfg.Issuer, "/")
	w.Header().Set("Cache-Control", "public, max-age=300")
	return serve.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"token_endpoint":                        iss + "/v1/auth/login",
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"grant_types_supported":                 []string{"password", "refresh_token"},
		"claims_supported":                      []string{"sub", "sid", "jti", "aud", "iss", "exp", "iat"},
	})
}

func (f *Function) jwksHandler(w http.ResponseWriter, r *http.Request) error {
	f.keys.refresh(r.Context(), f.cfg.KeyRefresh)
	// Short caching: verifiers refetch on an unknown kid anyway, and rotation publishes keys long
	// (KeyPublishDelay) before they sign.
	w.Header().Set("Cache-Control", "public, max-age=60")
	return serve.WriteJSON(w, http.StatusOK, f.keys.jwks(time.Now()))
}

func (f *Function) accessToken(ctx context.Context, userID, sessionID string, now time.Time) (string, error) {
	f.keys.refresh(ctx, f.cfg.KeyRefresh)
	return f.keys.sign(now, accessClaims{
		Claims: jwt.Claims{
			Issuer:   strings.TrimSuffix(f.cfg.Issuer, "/"),
			Subject:  userID,
			Audience: jwt.Audience{f.cfg.Audience},
			Expiry:   jwt.NewNumericDate(now.Add(f.cfg.AccessTTL)),
			IssuedAt: jwt.NewNumericDate(now),
			ID:       newID(),
		},
		SessionID: sessionID,
	})
}

// mint adds a refresh token to session sid and signs an access token for it.
func (f *Function) mint(ctx context.Context, tx pgx.Tx, userID, sid string, now time.Time) (events.Tokens, error) {
	rt := randomToken()
	if err := insertRefresh(ctx, tx, sid, rt, now.Add(f.cfg.RefreshTTL)); err != nil {
		return events.Tokens{}, err
	}
	at, err := f.accessToken(ctx, userID, sid, now)
	if err != nil {
		return events.Tokens{}, err
	}
	return events.Tokens{AccessToken: at, RefreshToken: rt, TokenType: "Bearer", ExpiresIn: int(f.cfg.AccessTTL.Seconds())}, nil
}

func (f *Function) newSession(ctx context.Context, tx pgx.Tx, userID, deviceID string, now time.Time) (events.Tokens, error) {
	sid := newID()
	if err := insertSession(ctx, tx, session{ID: sid, UserID: userID, ExpiresAt: now.Add(f.cfg.SessionTTL)}, deviceID); err != nil {
		return events.Tokens{}, err
	}
	return f.mint(ctx, tx, userID, sid, now)
}

// ---- accounts and sessions ----

func (f *Function) register(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req events.RegisterRequest
	if err := serve.Decode(w, r, &req); err != nil {
		return err
	}
	if err := validUsername(req.Username); err != nil {
		return err
	}
	if err := validPassword(req.Password); err != nil {
		return err
	}
	if err := validDisplayName(req.DisplayName); err != nil {
		return err
	}
	if _, err := f.store.userByName(ctx, req.Username); err == nil {
		return events.Errorf(events.CodeUsernameTaken, "this username is taken")
	} else if !errors.Is(err, errNotFound) {
		return err
	}
	var hashed string
	if err := f.hash(ctx, func() (err error) { hashed, err = hashPassword(req.Password, f.cfg.Password); return err }); err != nil {
		return err
	}
	u := userRow{User: events.User{ID: newID(), Username: req.Username, DisplayName: normalizeDisplayName(req.DisplayName, req.Username)},
		PasswordHash: hashed}
	var tokens events.Tokens
	now := time.Now()
	err := f.inTx(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		created, err := insertUser(ctx, tx, u)
		if err != nil {
			return nil, err
		}
		u.CreatedAt = created
		if tokens, err = f.newSession(ctx, tx, u.ID, "", now); err != nil {
			return nil, err
		}
		ev, err := fact(events.TypeUserRegistered, u.ID, events.UserFact{User: u.User})
		return []event.Event{ev}, err
	})
	if err != nil {
		return err
	}
	if f.admins[u.Username] {
		if err := f.d.Roles.Grant(ctx, keto.NamespaceRole, keto.RoleAdmin, keto.RelationMembers, u.ID); err != nil {
			f.d.Log.ErrorContext(ctx, "bootstrap admin grant failed", "user_id", u.ID, "err", err)
		}
	}
	return serve.WriteJSON(w, http.StatusCreated, events.Auth{User: u.User, Tokens: tokens})
}

func (f *Function) login(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req events.LoginRequest
	if err := serve.Decode(w, r, &req); err != nil {
		return err
	}
	username := strings.ToLower(strings.TrimSpace(req.Username))
	if username == "" {
		return events.Invalid("username", "is required")
	}
	if req.Password == "" {
		return events.Invalid("password", "is required")
	}
	if len(username) > 256 || len(req.DeviceID) > 128 {
		return errBadCredentials
	}
	userKey, ipKey := "login:user:"+username, "login:ip:"+auth.ClientIP(r, f.cfg.TrustForwardedFor)
	if err := f.loginAllowed(ctx, userKey, ipKey); err != nil {
		return err
	}
	u, err := f.store.userByName(ctx, username)
	if err != nil && !errors.Is(err, errNotFound) {
		return err
	}
	found := err == nil
	encoded := f.dummy
	if found {
		encoded = u.PasswordHash
	}
	// Unknown users are checked against the dummy hash: the answer and its timing never depend on
	// whether the user exists.
	var ok bool
	if err := f.hash(ctx, func() (err error) { ok, err = checkPassword(req.Password, encoded); return err }); err != nil {
		return err
	}
	if !found || !ok {
		f.loginFailed(ctx, userKey, ipKey)
		return errBadCredentials
	}
	if err := f.refuseBanned(ctx, u.ID); err != nil {
		return err
	}
	var tokens events.Tokens
	now := time.Now()
	if err := f.inTx(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		var err error
		tokens, err = f.newSession(ctx, tx, u.ID, req.DeviceID, now)
		return nil, err
	}); err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.Auth{User: u.User, Tokens: tokens})
}

// loginAllowed refuses (429) a username or address that failed too often; only failures spend budget.
func (f *Function) loginAllowed(ctx context.Context, userKey, ipKey string) error {
	if f.d.Limiter == nil {
		return nil
	}
	for _, k := range []struct {
		key string
		lim func() (retry time.Duration, ok bool, err error)
	}{
		{userKey, func() (time.Duration, bool, error) {
			res, err := f.d.Limiter.Peek(ctx, userKey, f.cfg.LoginPerUsername)
			return res.RetryAfter, res.Allowed, err
		}},
		{ipKey, func() (time.Duration, bool, error) {
			res, err := f.d.Limiter.Peek(ctx, ipKey, f.cfg.LoginPerIP)
			return res.RetryAfter, res.Allowed, err
		}},
	} {
		retry, ok, err := k.lim()
		if err != nil {
			f.d.Log.WarnContext(ctx, "login limiter unavailable; attempt let through", "err", err)
			return nil
		}
		if !ok {
			e := events.Errorf(events.CodeRateLimited, "too many failed logins, retry later")
			e.RetryAfter = max(retry, time.Second)
			return e
		}
	}
	return nil
}

func (f *Function) loginFailed(ctx context.Context, userKey, ipKey string) {
	if f.d.Limiter == nil {
		return
	}
	if _, err := f.d.Limiter.Allow(ctx, userKey, f.cfg.LoginPerUsername); err != nil {
		f.d.Log.WarnContext(ctx, "login limiter unavailable", "err", err)
	}
	_, _ = f.d.Limiter.Allow(ctx, ipKey, f.cfg.LoginPerIP)
}

func (f *Function) refuseBanned(ctx context.Context, userID string) error {
	banned, err := f.d.Authorizer.Banned(ctx, userID)
	if err != nil {
		return err
	}
	if banned {
		return events.Errorf(events.CodeForbidden, "this account is banned")
	}
	return nil
}

func (f *Function) refresh(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req events.RefreshRequest
	if err := serve.Decode(w, r, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return events.Invalid("refresh_token", "is required")
	}
	invalid := events.Errorf(events.CodeUnauthenticated, "invalid refresh token")
	if len(req.RefreshToken) > 256 {
		return invalid
	}
	var (
		tokens events.Tokens
		st     refreshState
		reused bool
	)
	now := time.Now()
	err := f.inTx(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		var err error
		reused = false
		if st, err = lockRefresh(ctx, tx, req.RefreshToken); errors.Is(err, errNotFound) {
			return nil, invalid
		} else if err != nil {
			return nil, err
		}
		if st.Used {
			// Theft signal: the token was already exchanged, so two parties hold this family.
			// End the family (commit), then refuse.
			reused = true
			live, err := revokeSession(ctx, tx, st.SessionID, st.UserID, ReasonRefreshReuse)
			if err != nil || !live {
				return nil, err
			}
			ev, err := fact(events.TypeSessionRevoked, st.UserID,
				events.SessionRevoked{UserID: st.UserID, SessionID: st.SessionID, Reason: ReasonRefreshReuse})
			return []event.Event{ev}, err
		}
		if st.SessionDead || st.Expired {
			return nil, invalid
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = now() WHERE hash = $1`, hashToken(req.RefreshToken)); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET last_used_at = now() WHERE id = $1`, st.SessionID); err != nil {
			return nil, err
		}
		tokens, err = f.mint(ctx, tx, st.UserID, st.SessionID, now)
		return nil, err
	})
	if err != nil {
		return err
	}
	if reused {
		// The access tokens minted from this family die too.
		if err := f.d.Revocations.RevokeSession(ctx, st.SessionID, f.cfg.AccessTTL); err != nil {
			f.d.Log.WarnContext(ctx, "denylist session failed", "err", err)
		}
		f.d.Log.WarnContext(ctx, "refresh token reused; family revoked", "user_id", st.UserID, "session_id", st.SessionID)
		return invalid
	}
	if err := f.refuseBanned(ctx, st.UserID); err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.TokensResponse{Tokens: tokens})
}

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.UserID == "" {
		return p, events.Errorf(events.CodeUnauthenticated, "authentication required")
	}
	return p, nil
}

func (f *Function) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	// The body is optional.
	var req events.LogoutRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, serve.MaxBodyBytes))
	if err != nil {
		return events.Invalid("body", "cannot be read")
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := serve.DecodeBytes(body, &req); err != nil {
			return err
		}
	}
	err = f.inTx(ctx, func(tx pgx.Tx) ([]event.Event, error) {
		var evs []event.Event
		sessions := []string{p.SessionID}
		if req.RefreshToken != "" && len(req.RefreshToken) <= 256 {
			if other, err := sessionOfRefresh(ctx, tx, req.RefreshToken); err != nil {
				return nil, err
			} else if other != "" && other != p.SessionID {
				sessions = append(sessions, other)
			}
		}
		for _, sid := range sessions {
			if sid == "" {
				continue
			}
			// user_id in the WHERE clause: a refresh token of someone else ends nothing.
			live, err := revokeSession(ctx, tx, sid, p.UserID, ReasonLogout)
			if err != nil {
				return nil, err
			}
			if live || sid == p.SessionID {
				ev, err := fact(events.TypeSessionRevoked, p.UserID, events.SessionRevoked{UserID: p.UserID, SessionID: sid, Reason: ReasonLogout})
				if err != nil {
					return nil, err
				}
				evs = append(evs, ev)
			}
		}
		return evs, nil
	})
	if err != nil {
		return err
	}
	if p.TokenID != "" {
		if err := f.d.Revocations.RevokeToken(ctx, p.TokenID, p.ExpiresAt); err != nil {
			return unavailable(err)
		}
	}
	if p.SessionID != "" {
		if err := f.d.Revocations.RevokeSession(ctx, p.SessionID, f.cfg.AccessTTL); err != nil {
			return unavailable(err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

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
		if _, err := tx.Exec(ctx, `UPDATE users SET display_name = $2, avatar_url = $3, updated_at = now() WHERE id = $1`,
			u.ID, u.DisplayName, u.AvatarURL); err != nil {
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
		// Soft delete: other tables keep valid references; the username is freed and the profile scrubbed.
		tag, err := tx.Exec(ctx, `UPDATE users SET deleted_at = now(), updated_at = now(), username = 'deleted:' || id,
			password_hash = '', display_name = '', avatar_url = '' WHERE id = $1 AND deleted_at IS NULL`, u.ID)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, events.Errorf(events.CodeUnauthenticated, "this account no longer exists")
		}
		if err := revokeUserSessions(ctx, tx, u.ID, ReasonUserDeleted); err != nil {
			return nil, err
		}
		// A deleted account gets no more pushes.
		if _, err := tx.Exec(ctx, `DELETE FROM push_devices WHERE user_id = $1`, u.ID); err != nil {
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
		revoked, err := fact(events.TypeSessionRevoked, u.ID, events.SessionRevoked{UserID: u.ID, Reason: ReasonUserDeleted})
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
	if _, err := tx.Exec(ctx, `DELETE FROM files f WHERE f.owner_id = $1
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id)`, userID); err != nil {
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

func (f *Function) ticket(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r.Context())
	if err != nil {
		return err
	}
	t, err := f.d.Tickets.Issue(r.Context(), p)
	if err != nil {
		return unavailable(err)
	}
	return serve.WriteJSON(w, http.StatusCreated, events.TicketResponse{Ticket: t, ExpiresIn: int(auth.TicketTTL.Seconds())})
}

// ---- administration (role admin) ----

// requireAdmin re-checks the admin role even though the rules file guards /v1/admin: removing a rule
// by mistake must not open these routes. It fails closed when Keto is unreachable.
func (f *Function) requireAdmin(ctx context.Context) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	ok, err := f.d.Authorizer.Allowed(ctx, keto.NamespaceRole, keto.RoleAdmin, keto.RelationMembers, p.UserID, auth.FailClosed)
	if err != nil {
		return err
	}
	if !ok {
		return events.Errorf(events.CodeForbidden, "this action needs the admin role")
	}
	return nil
}

func (f *Function) target(ctx context.Context, id string) error {
	if _, err := f.store.userByID(ctx, nil, id); errors.Is(err, errNotFound) {
		return events.Errorf(events.CodeNotFound, "no such user")
	} else if err != nil {
		return err
	}
	return nil
}

func ketoErr(err error) error {
	if errors.Is(err, keto.ErrUnavailable) {
		return unavailable(err)
	}
	return err
}

func (f *Function) ban(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	if err := f.target(ctx, id); err != nil {
		return err
	}
	if err := f.bans.Ban(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (f *Function) unban(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	if err := f.target(ctx, id); err != nil {
		return err
	}
	if err := f.bans.Unban(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (f *Function) roleChange(w http.ResponseWriter, r *http.Request, grant bool) error {
	ctx, role, id := r.Context(), r.PathValue("role"), r.PathValue("user_id")
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	if !roleName.MatchString(role) {
		return events.Invalid("role", "must match %s", roleName.String())
	}
	if err := f.target(ctx, id); err != nil {
		return err
	}
	change := f.d.Roles.Revoke
	if grant {
		change = f.d.Roles.Grant
	}
	if err := change(ctx, keto.NamespaceRole, role, keto.RelationMembers, id); err != nil {
		return ketoErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (f *Function) grantRole(w http.ResponseWriter, r *http.Request) error {
	return f.roleChange(w, r, true)
}
func (f *Function) revokeRole(w http.ResponseWriter, r *http.Request) error {
	return f.roleChange(w, r, false)
}

func (f *Function) rotateKeys(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	kid, from, err := f.RotateKeys(ctx)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, map[string]any{"kid": kid, "active_from": from.UTC()})
}
