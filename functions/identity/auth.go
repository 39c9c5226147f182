package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
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
			live, err := revokeSession(ctx, tx, st.SessionID, st.UserID, events.SessionEndRefreshReuse)
			if err != nil || !live {
				return nil, err
			}
			ev, err := fact(events.TypeSessionRevoked, st.UserID,
				events.SessionRevoked{UserID: st.UserID, SessionID: st.SessionID, Reason: events.SessionEndRefreshReuse})
			return []event.Event{ev}, err
		}
		if st.SessionDead || st.Expired {
			return nil, invalid
		}
		if err := useRefresh(ctx, tx, req.RefreshToken, st.SessionID); err != nil {
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
			live, err := revokeSession(ctx, tx, sid, p.UserID, events.SessionEndLogout)
			if err != nil {
				return nil, err
			}
			if live || sid == p.SessionID {
				ev, err := fact(events.TypeSessionRevoked, p.UserID, events.SessionRevoked{UserID: p.UserID, SessionID: sid, Reason: events.SessionEndLogout})
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
