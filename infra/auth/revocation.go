package auth

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Revocations is the access-token denylist in Redis. Access tokens are self-contained JWTs valid until
// exp, so ending one early needs a shared list every verifier consults: by token (jti), by session
// (sid: logout ends every access token of that login, including ones minted before the last
// refresh) and by user (deletion: every token issued until now). Entries expire with the tokens they
// refuse, so the list stays small. Losing Redis loses the list: revoked tokens then live until exp
// (at most the access-token TTL), which is the documented degradation.
type Revocations struct {
	rdb    goredis.UniversalClient
	prefix string
}

// NewRevocations keeps its keys under prefix + "denylist:".
func NewRevocations(rdb goredis.UniversalClient, prefix string) *Revocations {
	return &Revocations{rdb: rdb, prefix: prefix + "denylist:"}
}

// RevokeToken refuses the token jti until until (its exp).
func (r *Revocations) RevokeToken(ctx context.Context, jti string, until time.Time) error {
	ttl := time.Until(until) + time.Second
	if ttl <= time.Second {
		return nil // already expired
	}
	return r.set(ctx, "jti:"+jti, "1", ttl)
}

// RevokeSession refuses every access token of session sid for ttl (the access-token lifetime).
func (r *Revocations) RevokeSession(ctx context.Context, sid string, ttl time.Duration) error {
	return r.set(ctx, "sid:"+sid, "1", ttl+time.Second)
}

// RevokeUser refuses every token of userID issued at or before now, for ttl (the access-token lifetime).
func (r *Revocations) RevokeUser(ctx context.Context, userID string, ttl time.Duration) error {
	return r.set(ctx, "user:"+userID, strconv.FormatInt(time.Now().Unix(), 10), ttl+time.Second)
}

func (r *Revocations) set(ctx context.Context, key, val string, ttl time.Duration) error {
	if err := r.rdb.Set(ctx, r.prefix+key, val, ttl).Err(); err != nil {
		return fmt.Errorf("denylist %s: %w", key, err)
	}
	return nil
}

// BumpBans changes the bans version: every verifier drops its cached ban answers on its next request.
// Call it after every ban or unban written to Keto.
func (r *Revocations) BumpBans(ctx context.Context) error {
	if err := r.rdb.Incr(ctx, r.prefix+"bans-version").Err(); err != nil {
		return fmt.Errorf("bans version: %w", err)
	}
	return nil
}

// Revoked reports whether p's token has been revoked, in one round trip.
func (r *Revocations) Revoked(ctx context.Context, p Principal) (bool, error) {
	revoked, _, err := r.check(ctx, p)
	return revoked, err
}

// check is Revoked plus the bans version ("0" when never bumped), read in the same round trip.
func (r *Revocations) check(ctx context.Context, p Principal) (bool, string, error) {
	keys := []string{r.prefix + "user:" + p.UserID, r.prefix + "jti:" + p.TokenID, r.prefix + "sid:" + p.SessionID,
		r.prefix + "bans-version"}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return false, "", fmt.Errorf("denylist: %w", err)
	}
	version := "0"
	if s, ok := vals[3].(string); ok {
		version = s
	}
	revoked := r.revoked(p, vals)
	return revoked, version, nil
}

func (r *Revocations) revoked(p Principal, vals []any) bool {
	if s, ok := vals[0].(string); ok {
		if at, err := strconv.ParseInt(s, 10, 64); err == nil && !p.IssuedAt.After(time.Unix(at, 0)) {
			return true
		}
	}
	if p.TokenID != "" && vals[1] != nil {
		return true
	}
	return p.SessionID != "" && vals[2] != nil
}
