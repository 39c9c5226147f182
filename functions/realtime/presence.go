package realtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
)

// keys is the Redis layout. The presence keys are the socket-edge's (socket-edge/edge/presence.go):
//
//	<prefix>presence:<user>  ZSET   member = connection id, score = lease expiry (unix ms)
//	<prefix>lastseen:<user>  STRING RFC 3339 time the user was last seen connected
//
// The call keys are this function's own:
//
//	<prefix>call:<id>        HASH   state ringing|active|ended, caller, callee, conv, deadline (unix ms),
//	                                reason (why it ended), ev_<kind> (event id of the last transition)
//	<prefix>incall:<user>    STRING id of the user's live call (the busy marker)
//	<prefix>callrings        ZSET   member = call id, score = ring deadline or timeout lease (unix ms)
type keys struct{ prefix string }

func (k keys) presence(user string) string { return k.prefix + "presence:" + user }
func (k keys) lastSeen(user string) string { return k.prefix + "lastseen:" + user }
func (k keys) call(id string) string       { return k.prefix + "call:" + id }
func (k keys) callPrefix() string          { return k.prefix + "call:" }
func (k keys) inCall(user string) string   { return k.prefix + "incall:" + user }
func (k keys) inCallPrefix() string        { return k.prefix + "incall:" }
func (k keys) rings() string               { return k.prefix + "callrings" }

// maxIDLen bounds one user id in a presence query (ids are UUIDv7 strings).
const maxIDLen = 64

// getPresence answers GET /v1/presence?user_ids=a,b. Presence is shown only to users who may see
// it: the caller, their contacts and the members of a conversation they share, unless either side
// blocks the other. Anyone else is answered like an offline user with no last_seen_at, so the
// answer does not reveal whether a stranger exists, is online, or has blocked the caller.
func (h *Handler) getPresence(w http.ResponseWriter, r *http.Request, userID string) error {
	ids, err := h.parseIDs(r.URL.Query()["user_ids"])
	if err != nil {
		return err
	}
	out, err := h.Presence(r.Context(), userID, ids)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return serve.WriteJSON(w, http.StatusOK, events.PresenceResponse{Presence: out})
}

// parseIDs reads user_ids (comma separated; the parameter may also repeat), de-duplicated in order.
func (h *Handler) parseIDs(params []string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, param := range params {
		for _, id := range strings.Split(param, ",") {
			id = strings.TrimSpace(id)
			if id == "" {
				continue
			}
			if len(id) > maxIDLen || strings.IndexFunc(id, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
				return nil, events.Invalid("user_ids", "%q is not a user id", id)
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil, events.Invalid("user_ids", "is required (comma-separated user ids)")
	}
	if len(ids) > h.cfg.MaxPresenceIDs {
		return nil, events.Invalid("user_ids", "at most %d ids per request", h.cfg.MaxPresenceIDs)
	}
	return ids, nil
}

// Presence returns the presence of ids as viewer may see it, in the order asked: one PostgreSQL
// query decides visibility, one Redis pipeline reads every visible user's device leases.
func (h *Handler) Presence(ctx context.Context, viewer string, ids []string) ([]events.Presence, error) {
	visible, err := h.visible(ctx, viewer, ids)
	if err != nil {
		return nil, err
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	type reads struct {
		devices *goredis.IntCmd
		seen    *goredis.StringCmd
	}
	cmds := make(map[string]reads, len(visible))
	if len(visible) > 0 {
		_, err = h.d.Redis.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
			for id := range visible {
				cmds[id] = reads{
					devices: pipe.ZCount(ctx, h.k.presence(id), "("+now, "+inf"),
					seen:    pipe.Get(ctx, h.k.lastSeen(id)),
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) { // a missing lastseen key is no failure
			return nil, events.Wrap(events.CodeUnavailable, err, "presence store unavailable")
		}
	}
	out := make([]events.Presence, len(ids))
	for i, id := range ids {
		out[i] = events.Presence{UserID: id}
		c, ok := cmds[id]
		if !ok {
			continue
		}
		out[i].Devices = int(c.devices.Val())
		out[i].Online = out[i].Devices > 0
		if t, err := time.Parse(time.RFC3339Nano, c.seen.Val()); err == nil {
			t = t.UTC()
			out[i].LastSeenAt = &t
		}
	}
	return out, nil
}

// visible returns the subset of ids whose presence viewer may see.
func (h *Handler) visible(ctx context.Context, viewer string, ids []string) (map[string]bool, error) {
	rows, err := h.d.Pool.Query(ctx, `
		SELECT u FROM unnest($2::text[]) AS u
		WHERE u = $1 OR (
			NOT EXISTS (SELECT 1 FROM blocks b
			            WHERE (b.blocker_id = $1 AND b.blocked_id = u) OR (b.blocker_id = u AND b.blocked_id = $1))
			AND (EXISTS (SELECT 1 FROM contacts c WHERE c.user_id = $1 AND c.contact_id = u)
			     OR EXISTS (SELECT 1 FROM conversation_members m1
			                JOIN conversation_members m2 ON m2.conversation_id = m1.conversation_id AND m2.user_id = u
			                WHERE m1.user_id = $1)))`, viewer, ids)
	if err != nil {
		return nil, fmt.Errorf("presence visibility: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("presence visibility: %w", err)
	}
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}
