package identity

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
)

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
