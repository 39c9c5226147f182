package realtime

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
)

// Calls are 1:1. The state machine, kept in Redis (keys in presence.go), every step one Lua script so
// concurrent signals on different instances cannot interleave:
//
//	invite  (caller)  -> ringing; the callee's devices get call.invite. The caller must share the
//	                     conversation with the callee: conversation_id (a direct one, or a group plus
//	                     to_user_id), or to_user_id alone with whom the caller has a direct conversation.
//	                     Anyone else: not_found; a block either way: blocked.
//	                     Callee already ringing or in a call: the call ends at once and the caller gets
//	                     call.busy (from_user_id = the callee); the callee hears nothing.
//	                     Caller already in a call: that call ends (its parties get call.hangup), since a
//	                     client that starts a call has left the previous one; this also heals state left by
//	                     a crashed client.
//	accept  (callee)  ringing -> active; the caller and the callee's other devices get call.accept.
//	reject  (callee)  ringing -> ended; the caller and the callee's other devices get call.reject.
//	hangup  (either)  ringing|active -> ended; the other party and the sender's other devices get it.
//	                  A hangup of an ended call is accepted silently (both sides may hang up at once).
//	offer, answer, ice (either) while ringing or active: relayed to the other party.
//	ring deadline     ringing -> ended; both parties get call.timeout (from_user_id = the caller).
//
// Refusals answer the frame (im.command.rejected): an unknown call, or a call of which the sender is
// not a party: not_found; a signal for an ended (or timed out) call: conflict; accept/reject by the
// caller: forbidden; accept/reject of a call no longer ringing: conflict; a call_id already used by
// another call: conflict. Relayed data carries kind, call_id, from_user_id, to_user_id,
// conversation_id (filled in from the call) and the sender's sdp/candidate.
//
// Redelivery: each transition stores its command's event id (ev_<kind>); the same command again is
// answered by publishing the same deliveries (same ids) without changing state.
//
// Ring timeout: every instance's Run claims due deadlines from the <prefix>callrings sorted set with
// one script that marks the call ended (reason timeout) and moves its score to now+TimeoutLease (the
// lease is the per-call lock: no other instance takes it meanwhile); after call.timeout is published
// the member is removed. An instance dying in between leaves the lease to lapse and another instance
// delivers the timeout (at least once). A signal reaching a ringing call past its deadline before the
// sweep is treated as for an ended call.

// maxCallIDLen bounds a client-chosen call id.
const maxCallIDLen = 128

// Outcomes of the scripts.
const (
	stOK        = "ok"
	stReplay    = "replay"
	stBusy      = "busy"
	stExists    = "exists"
	stUnknown   = "unknown"
	stEnded     = "ended"
	stNoop      = "noop"
	stForbidden = "forbidden"
	stConflict  = "conflict"
)

// inviteScript: KEYS call, incall(caller), incall(callee), rings; ARGV callID, caller, callee, conv,
// now, deadline, ringTTL, eventID, callPrefix, inCallPrefix, endedTTL.
// Returns {status, state|prevID..., }: {ok|busy, "", prevID, prevCaller, prevCallee, prevConv},
// {replay, state, reason} or {exists}.
var inviteScript = goredis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'state')
if st then
  local h = redis.call('HMGET', KEYS[1], 'ev_invite', 'reason')
  if h[1] == ARGV[8] then return {'replay', st, h[2] or ''} end
  return {'exists'}
end
local function live(id)
  if not id then return false end
  local s = redis.call('HGET', ARGV[9] .. id, 'state')
  return s == 'ringing' or s == 'active'
end
local res = {'ok', '', '', '', '', ''}
local prev = redis.call('GET', KEYS[2])
if live(prev) then
  local pk = ARGV[9] .. prev
  local p = redis.call('HMGET', pk, 'caller', 'callee', 'conv')
  redis.call('HSET', pk, 'state', 'ended', 'reason', 'replaced')
  redis.call('PEXPIRE', pk, ARGV[11])
  redis.call('ZREM', KEYS[4], prev)
  for _, u in ipairs({p[1], p[2]}) do
    if u and redis.call('GET', ARGV[10] .. u) == prev then redis.call('DEL', ARGV[10] .. u) end
  end
  res = {'ok', '', prev, p[1] or '', p[2] or '', p[3] or ''}
end
if live(redis.call('GET', KEYS[3])) then
  redis.call('HSET', KEYS[1], 'state', 'ended', 'reason', 'busy', 'caller', ARGV[2], 'callee', ARGV[3],
    'conv', ARGV[4], 'ev_invite', ARGV[8])
  redis.call('PEXPIRE', KEYS[1], ARGV[11])
  res[1] = 'busy'
  return res
end
redis.call('HSET', KEYS[1], 'state', 'ringing', 'caller', ARGV[2], 'callee', ARGV[3], 'conv', ARGV[4],
  'deadline', ARGV[6], 'ev_invite', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[7])
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
return res
`)

// signalScript: KEYS call, rings; ARGV callID, kind, user, now, eventID, inCallPrefix, activeTTL,
// endedTTL. Returns {status, caller, callee, conv}.
var signalScript = goredis.NewScript(`
local kind, user = ARGV[2], ARGV[3]
local h = redis.call('HMGET', KEYS[1], 'state', 'caller', 'callee', 'conv', 'deadline', 'ev_' .. kind)
local st, caller, callee = h[1], h[2], h[3]
if not st then return {'unknown'} end
if user ~= caller and user ~= callee then return {'unknown'} end
local res = {'ok', caller, callee, h[4] or ''}
if h[6] == ARGV[5] then res[1] = 'replay' return res end
if st == 'ended' or (st == 'ringing' and tonumber(h[5] or '0') <= tonumber(ARGV[4])) then
  if kind == 'hangup' then res[1] = 'noop' else res[1] = 'ended' end
  return res
end
local function markers(fn)
  for _, u in ipairs({caller, callee}) do
    if redis.call('GET', ARGV[6] .. u) == ARGV[1] then fn(ARGV[6] .. u) end
  end
end
local function finish(reason)
  redis.call('HSET', KEYS[1], 'state', 'ended', 'reason', reason, 'ev_' .. kind, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  redis.call('ZREM', KEYS[2], ARGV[1])
  markers(function(k) redis.call('DEL', k) end)
end
if kind == 'accept' or kind == 'reject' then
  if user ~= callee then res[1] = 'forbidden' return res end
  if st ~= 'ringing' then res[1] = 'conflict' return res end
end
if kind == 'accept' then
  redis.call('HSET', KEYS[1], 'state', 'active', 'ev_accept', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('ZREM', KEYS[2], ARGV[1])
  markers(function(k) redis.call('PEXPIRE', k, ARGV[7]) end)
elseif kind == 'reject' then
  finish('rejected')
elseif kind == 'hangup' then
  finish('hangup')
end
return res
`)

// claimScript: KEYS rings; ARGV now, leaseUntil, callPrefix, inCallPrefix, endedTTL, limit.
// Returns {callID, caller, callee, conv, ...} of the calls whose call.timeout this instance delivers.
var claimScript = goredis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[6]))
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[3] .. id
  local h = redis.call('HMGET', k, 'state', 'reason', 'caller', 'callee', 'conv')
  if h[1] == 'ringing' or (h[1] == 'ended' and h[2] == 'timeout') then
    if h[1] == 'ringing' then
      redis.call('HSET', k, 'state', 'ended', 'reason', 'timeout')
      redis.call('PEXPIRE', k, ARGV[5])
      for _, u in ipairs({h[3], h[4]}) do
        if u and redis.call('GET', ARGV[4] .. u) == id then redis.call('DEL', ARGV[4] .. u) end
      end
    end
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, id)
    table.insert(out, h[3] or '')
    table.insert(out, h[4] or '')
    table.insert(out, h[5] or '')
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`)

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
func unixMS(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Signal handles one call signal from the edge (s.FromUserID is the sender, set by the edge from the
// authenticated connection).
func (h *Handler) Signal(ctx context.Context, e event.Event, s events.CallSignal) error {
	if s.FromUserID == "" {
		return events.Invalid("from_user_id", "is required")
	}
	if len(s.CallID) > maxCallIDLen {
		return events.Invalid("call_id", "must be at most %d characters", maxCallIDLen)
	}
	switch s.Kind {
	case "invite":
		return h.invite(ctx, e, s)
	case "accept", "reject", "offer", "answer", "ice", "hangup":
		return h.relay(ctx, e, s)
	}
	return events.Invalid("kind", "%s is sent by the server only", s.Kind)
}

func (h *Handler) invite(ctx context.Context, e event.Event, s events.CallSignal) error {
	caller := s.FromUserID
	conv, callee, err := h.resolveCallee(ctx, caller, s.ConversationID, s.ToUserID)
	if err != nil {
		return err
	}
	now := time.Now()
	ringTTL := h.cfg.RingTimeout + h.cfg.TimeoutLease + h.cfg.EndedTTL
	res, err := inviteScript.Run(ctx, h.d.Redis,
		[]string{h.k.call(s.CallID), h.k.inCall(caller), h.k.inCall(callee), h.k.rings()},
		s.CallID, caller, callee, conv, unixMS(now), unixMS(now.Add(h.cfg.RingTimeout)), ms(ringTTL), e.ID(),
		h.k.callPrefix(), h.k.inCallPrefix(), ms(h.cfg.EndedTTL)).StringSlice()
	if err != nil {
		return events.Wrap(events.CodeUnavailable, err, "call state unavailable")
	}
	cause := e.Source() + "\x00" + e.ID()
	inviteData := events.CallSignal{Kind: "invite", CallID: s.CallID, FromUserID: caller, ToUserID: callee,
		ConversationID: conv, SDP: s.SDP, Candidate: s.Candidate}
	busyData := events.CallSignal{Kind: "busy", CallID: s.CallID, FromUserID: callee, ToUserID: caller, ConversationID: conv}
	var out []event.Event
	add := func(part string, recipients []string, except string, data events.CallSignal) error {
		if len(recipients) == 0 {
			return nil
		}
		d, err := delivery(cause, part, events.TypeCallSignal, data.ConversationID, recipients, except, data)
		if err == nil {
			out = append(out, d)
		}
		return err
	}
	switch res[0] {
	case stExists:
		return events.Errorf(events.CodeConflict, "call_id %q is already in use", s.CallID)
	case stReplay:
		switch {
		case res[1] == "ringing":
			err = add("invite", []string{callee}, "", inviteData)
		case res[1] == "ended" && res[2] == "busy":
			err = add("busy", []string{caller}, "", busyData)
		}
	case stOK, stBusy:
		if len(res) >= 6 && res[2] != "" { // the caller's previous call ended
			prev := events.CallSignal{Kind: "hangup", CallID: res[2], FromUserID: caller, ConversationID: res[5]}
			if err = add("replaced", nonEmpty(res[3], res[4]), senderConn(e), prev); err != nil {
				return err
			}
		}
		if res[0] == stBusy {
			err = add("busy", []string{caller}, "", busyData)
		} else {
			err = add("invite", []string{callee}, "", inviteData)
		}
	default:
		return fmt.Errorf("invite script: unexpected %q", res)
	}
	if err != nil {
		return err
	}
	return h.publish(ctx, out...)
}

// relay applies accept/reject/hangup and relays them and offer/answer/ice to the other party.
func (h *Handler) relay(ctx context.Context, e event.Event, s events.CallSignal) error {
	user := s.FromUserID
	res, err := signalScript.Run(ctx, h.d.Redis, []string{h.k.call(s.CallID), h.k.rings()},
		s.CallID, s.Kind, user, unixMS(time.Now()), e.ID(), h.k.inCallPrefix(),
		ms(h.cfg.MaxCallDuration), ms(h.cfg.EndedTTL)).StringSlice()
	if err != nil {
		return events.Wrap(events.CodeUnavailable, err, "call state unavailable")
	}
	switch res[0] {
	case stUnknown:
		return events.Errorf(events.CodeNotFound, "call not found")
	case stEnded:
		return events.Errorf(events.CodeConflict, "the call has ended")
	case stNoop:
		return nil
	case stForbidden:
		return events.Errorf(events.CodeForbidden, "only the callee may %s a call", s.Kind)
	case stConflict:
		return events.Errorf(events.CodeConflict, "the call is no longer ringing")
	case stOK, stReplay:
	default:
		return fmt.Errorf("signal script: unexpected %q", res)
	}
	caller, callee, conv := res[1], res[2], res[3]
	other := callee
	if user == callee {
		other = caller
	}
	recipients, except := []string{other}, ""
	if s.Kind == "accept" || s.Kind == "reject" || s.Kind == "hangup" {
		// The sender's other devices learn the call was answered, refused or ended elsewhere.
		if conn := senderConn(e); conn != "" {
			recipients, except = []string{other, user}, conn
		}
	}
	data := events.CallSignal{Kind: s.Kind, CallID: s.CallID, FromUserID: user, ToUserID: other,
		ConversationID: conv, SDP: s.SDP, Candidate: s.Candidate}
	d, err := delivery(e.Source()+"\x00"+e.ID(), s.Kind, events.TypeCallSignal, conv, recipients, except, data)
	if err != nil {
		return err
	}
	return h.publish(ctx, d)
}

// resolveCallee checks that caller may ring and returns the call's conversation and callee.
func (h *Handler) resolveCallee(ctx context.Context, caller, conv, to string) (string, string, error) {
	if to == caller {
		return "", "", events.Invalid("to_user_id", "cannot call yourself")
	}
	var callee string
	if conv != "" {
		if _, err := messaging.Role(ctx, h.d.Pool, conv, caller); err != nil {
			return "", "", err
		}
		rows, err := h.d.Pool.Query(ctx, `SELECT c.type, m.user_id FROM conversations c
			JOIN conversation_members m ON m.conversation_id = c.id
			WHERE c.id = $1 AND m.user_id <> $2 AND ($3 = '' OR m.user_id = $3) LIMIT 2`, conv, caller, to)
		if err != nil {
			return "", "", fmt.Errorf("call members: %w", err)
		}
		var typ, id string
		n := 0
		if _, err := pgx.ForEachRow(rows, []any{&typ, &id}, func() error { n++; callee = id; return nil }); err != nil {
			return "", "", fmt.Errorf("call members: %w", err)
		}
		switch {
		case n == 0:
			return "", "", events.Errorf(events.CodeNotFound, "the callee is not in this conversation")
		case to == "" && typ != "direct":
			return "", "", events.Invalid("to_user_id", "is required to call in a group conversation")
		}
	} else {
		err := h.d.Pool.QueryRow(ctx, `SELECT c.id FROM conversations c
			JOIN conversation_members a ON a.conversation_id = c.id AND a.user_id = $1
			JOIN conversation_members b ON b.conversation_id = c.id AND b.user_id = $2
			WHERE c.type = 'direct' LIMIT 1`, caller, to).Scan(&conv)
		if messaging.IsNoRows(err) {
			return "", "", events.Errorf(events.CodeNotFound, "no conversation with this user")
		}
		if err != nil {
			return "", "", fmt.Errorf("direct conversation: %w", err)
		}
		callee = to
	}
	var blocked bool
	if err := h.d.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blocks
		WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1))`, caller, callee).Scan(&blocked); err != nil {
		return "", "", fmt.Errorf("blocks: %w", err)
	}
	if blocked {
		return "", "", events.Errorf(events.CodeBlocked, "calls with this user are blocked")
	}
	return conv, callee, nil
}

// Run delivers ring timeouts until ctx ends: every SweepInterval it claims the due ring deadlines.
// Start it once per process beside the handler (every instance may run it; see the note above).
func (h *Handler) Run(ctx context.Context) {
	t := time.NewTicker(h.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := h.ExpireRings(ctx); err != nil && ctx.Err() == nil {
			h.d.Log.WarnContext(ctx, "ring timeout sweep failed", "err", err)
		}
	}
}

// claimBatch bounds the calls one claim takes.
const claimBatch = 100

// ExpireRings ends the calls whose ring deadline passed and delivers call.timeout to both parties.
// It returns how many timeouts it delivered.
func (h *Handler) ExpireRings(ctx context.Context) (int, error) {
	total := 0
	for {
		now := time.Now()
		res, err := claimScript.Run(ctx, h.d.Redis, []string{h.k.rings()}, unixMS(now), unixMS(now.Add(h.cfg.TimeoutLease)),
			h.k.callPrefix(), h.k.inCallPrefix(), ms(h.cfg.EndedTTL), claimBatch).StringSlice()
		if err != nil {
			return total, fmt.Errorf("claim ring deadlines: %w", err)
		}
		if len(res) == 0 {
			return total, nil
		}
		var evs []event.Event
		var ids []any
		for i := 0; i+3 < len(res); i += 4 {
			id, caller, callee, conv := res[i], res[i+1], res[i+2], res[i+3]
			ids = append(ids, id)
			if caller == "" && callee == "" {
				continue
			}
			data := events.CallSignal{Kind: "timeout", CallID: id, FromUserID: caller, ToUserID: callee, ConversationID: conv}
			d, err := delivery("timeout\x00"+id, "0", events.TypeCallSignal, conv, nonEmpty(caller, callee), "", data)
			if err != nil {
				return total, err
			}
			evs = append(evs, d)
		}
		if err := h.publish(ctx, evs...); err != nil {
			return total, err // the leases lapse; this or another instance retries
		}
		if err := h.d.Redis.ZRem(ctx, h.k.rings(), ids...).Err(); err != nil {
			h.d.Log.WarnContext(ctx, "ring deadline cleanup failed; timeouts may repeat", "err", err)
		}
		total += len(ids)
		if len(res) < 4*claimBatch {
			return total, nil
		}
	}
}

func nonEmpty(ids ...string) []string {
	out := ids[:0:0]
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}
