package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/events"
)

// TicketTTL is the lifetime of a WebSocket ticket.
const TicketTTL = 30 * time.Second

// Tickets are one-use WebSocket tickets: a client that cannot set headers on the upgrade (a browser)
// trades its access token for a ticket over HTTP and connects with ?ticket=, so no raw token ever
// appears in a URL. Key <prefix>wsticket:<ticket> holds JSON {user_id, session_id, exp} (plus jti and
// token_exp so the edge applies the same revocation and expiry as for a bearer token); the edge
// redeems it with GETDEL, so a ticket works once.
type Tickets struct {
	rdb    goredis.UniversalClient
	prefix string
}

// NewTickets keeps tickets under prefix + "wsticket:".
func NewTickets(rdb goredis.UniversalClient, prefix string) *Tickets {
	return &Tickets{rdb: rdb, prefix: prefix + "wsticket:"}
}

type ticket struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	Exp       int64  `json:"exp"`
	TokenID   string `json:"jti,omitempty"`
	TokenExp  int64  `json:"token_exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
}

// Issue stores a ticket for p valid for TicketTTL and returns it.
func (t *Tickets) Issue(ctx context.Context, p Principal) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	body, err := json.Marshal(ticket{
		UserID: p.UserID, SessionID: p.SessionID, Exp: time.Now().Add(TicketTTL).Unix(),
		TokenID: p.TokenID, TokenExp: p.ExpiresAt.Unix(), IssuedAt: p.IssuedAt.Unix(),
	})
	if err != nil {
		return "", err
	}
	if err := t.rdb.Set(ctx, t.prefix+id, body, TicketTTL).Err(); err != nil {
		return "", fmt.Errorf("store ticket: %w", err)
	}
	return id, nil
}

// Redeem consumes ticket and returns the principal it was issued to. An unknown, used or expired
// ticket is an unauthenticated *events.Error. The caller still applies Verifier.Admit (revocation, bans).
func (t *Tickets) Redeem(ctx context.Context, id string) (Principal, error) {
	if id == "" || len(id) > 128 {
		return Principal{}, events.Errorf(events.CodeUnauthenticated, "invalid ticket")
	}
	body, err := t.rdb.GetDel(ctx, t.prefix+id).Bytes()
	if errors.Is(err, goredis.Nil) {
		return Principal{}, events.Errorf(events.CodeUnauthenticated, "invalid or used ticket")
	}
	if err != nil {
		return Principal{}, events.Wrap(events.CodeUnavailable, err, "tickets unavailable")
	}
	var tk ticket
	if err := json.Unmarshal(body, &tk); err != nil || tk.UserID == "" {
		return Principal{}, events.Errorf(events.CodeUnauthenticated, "invalid ticket")
	}
	now := time.Now()
	if now.Unix() > tk.Exp {
		return Principal{}, events.Errorf(events.CodeUnauthenticated, "ticket expired")
	}
	p := Principal{UserID: tk.UserID, SessionID: tk.SessionID, TokenID: tk.TokenID, ExpiresAt: time.Unix(tk.Exp, 0)}
	if tk.TokenExp > 0 {
		p.ExpiresAt = time.Unix(tk.TokenExp, 0)
	}
	if tk.IssuedAt > 0 {
		p.IssuedAt = time.Unix(tk.IssuedAt, 0)
	}
	return p, nil
}
