// Package auth verifies access tokens and carries the verified caller. It is shared by every HTTP
// function and the socket-edge, so both apply the same rules: token verification against the
// configured OIDC issuer (Verifier), revocation (Revocations: the Redis denylist), bans and role
// checks against Keto with their degradation rules (Authorizer), the access policy middleware
// (Policy, driven by the live rules file), and one-use WebSocket tickets (Tickets).
package auth

import (
	"context"
	"time"
)

// Principal is a verified caller.
type Principal struct {
	UserID    string    // token subject
	SessionID string    // sid: one login on one device
	TokenID   string    // jti: denylisted on logout
	ExpiresAt time.Time // exp
	IssuedAt  time.Time // iat: a user-wide revocation refuses every token issued before it
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the verified caller, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
