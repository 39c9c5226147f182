// Package auth verifies access tokens and carries the verified caller. It is shared by every HTTP
// function and the socket-edge, so both apply the same rules.
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
