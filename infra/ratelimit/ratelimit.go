// Package ratelimit enforces request limits shared by every instance of a function, in Redis, with
// GCRA (the generic cell rate algorithm): one key per limited subject holding its "theoretical arrival
// time", updated atomically by a Lua script. It allows bursts up to Burst and a steady Rate per Period,
// costs one round trip, and needs no cleanup (keys expire when the subject goes quiet).
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Limit is Burst requests at once, refilled at Rate per Period.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerSecond is a limit of rate requests per second with the given burst.
func PerSecond(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Second, Burst: burst} }

// Valid reports whether the limit limits anything (a zero Limit means "unlimited").
func (l Limit) Valid() bool { return l.Rate > 0 && l.Period > 0 && l.Burst > 0 }

// Result of one decision.
type Result struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is when the next request would be allowed (0 when allowed).
	RetryAfter time.Duration
}

// Limiter decides with Redis. It is safe for concurrent use.
type Limiter struct {
	rdb    goredis.UniversalClient
	prefix string
}

// New builds a limiter whose keys are prefix + "rl:" + key.
func New(rdb goredis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix + "rl:"}
}

// Allow spends one request of key's budget if the limit allows it.
func (l *Limiter) Allow(ctx context.Context, key string, lim Limit) (Result, error) {
	return l.run(ctx, key, lim, 1, false)
}

// Peek reports whether one request would be allowed, without spending it. Login uses it to refuse
// before hashing a password, and spends the budget (Allow) only when the attempt fails.
func (l *Limiter) Peek(ctx context.Context, key string, lim Limit) (Result, error) {
	return l.run(ctx, key, lim, 1, true)
}

// Reset forgets key's history.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	return l.rdb.Del(ctx, l.prefix+key).Err()
}

func (l *Limiter) run(ctx context.Context, key string, lim Limit, cost int, dry bool) (Result, error) {
	if !lim.Valid() {
		return Result{Allowed: true, Remaining: 1 << 30}, nil
	}
	emission := float64(lim.Period.Microseconds()) / float64(lim.Rate)
	d := 0
	if dry {
		d = 1
	}
	v, err := gcra.Run(ctx, l.rdb, []string{l.prefix + key}, emission, lim.Burst, cost, d).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit %s: %w", key, err)
	}
	if len(v) != 3 {
		return Result{}, fmt.Errorf("ratelimit %s: unexpected reply %v", key, v)
	}
	allowed, _ := v[0].(int64)
	remaining, _ := v[1].(int64)
	retryUS, _ := strconv.ParseFloat(fmt.Sprint(v[2]), 64)
	return Result{
		Allowed:    allowed == 1,
		Remaining:  int(remaining),
		RetryAfter: time.Duration(retryUS) * time.Microsecond,
	}, nil
}

// gcra: KEYS[1] = key; ARGV = emission interval (µs), burst, cost, dry (1 = do not store).
// Times are microseconds from Redis' own clock, so instances with skewed clocks agree.
var gcra = goredis.NewScript(`
local key = KEYS[1]
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local dry = tonumber(ARGV[4])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call("GET", key) or now)
if tat < now then tat = now end
local new_tat = tat + emission * cost
local allow_at = new_tat - emission * burst
if now < allow_at then
  local remaining = math.floor((now - (tat - emission * burst)) / emission)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, string.format("%.0f", allow_at - now)}
end
if dry == 0 then
  local ttl = math.ceil((new_tat - now) / 1000)
  if ttl < 1 then ttl = 1 end
  redis.call("SET", key, string.format("%.0f", new_tat), "PX", ttl)
end
return {1, math.floor((now - allow_at) / emission), "0"}
`)
