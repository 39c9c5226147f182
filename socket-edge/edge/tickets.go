package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/infra/auth"
)

// RedisTickets redeems the one-use WebSocket tickets the identity function stores at
// "<prefix>wsticket:<ticket>" = {"user_id","session_id","exp"} with a 30 s TTL (docs/architecture.md).
// GETDEL makes a ticket usable once even with many edges racing for it.
type RedisTickets struct {
	rdb    *goredis.Client
	prefix string
}

// NewRedisTickets reads tickets under prefix ("parley:").
func NewRedisTickets(rdb *goredis.Client, prefix string) *RedisTickets {
	return &RedisTickets{rdb: rdb, prefix: prefix}
}

// ErrBadTicket is returned for an unknown, used or expired ticket.
var ErrBadTicket = errors.New("unknown, used or expired ticket")

// Redeem consumes ticket. The socket it opens has no token expiry of its own (the ticket's 30 s
// only bounds its use); logout and bans still end it through im.session.revoked.
func (t *RedisTickets) Redeem(ctx context.Context, ticket string) (auth.Principal, error) {
	if ticket == "" || len(ticket) > 256 {
		return auth.Principal{}, ErrBadTicket
	}
	v, err := t.rdb.GetDel(ctx, t.prefix+"wsticket:"+ticket).Result()
	if errors.Is(err, goredis.Nil) {
		return auth.Principal{}, ErrBadTicket
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("redeem ticket: %w", err)
	}
	var j struct {
		UserID    string `json:"user_id"`
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal([]byte(v), &j); err != nil || j.UserID == "" {
		return auth.Principal{}, ErrBadTicket
	}
	return auth.Principal{UserID: j.UserID, SessionID: j.SessionID}, nil
}
