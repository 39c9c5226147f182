package edge

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/events"
)

// Redis layout (the realtime function reads the same keys for GET /v1/presence; keep both in step):
//
//	<prefix>presence:<user>  ZSET  member = connection id, score = lease expiry (unix ms)
//	<prefix>lastseen:<user>  STRING RFC 3339 time the user was last seen connected
//	<prefix>edges            ZSET  member = edge id, score = lease expiry (unix ms)
//	<prefix>edge:<id>        STRING JSON {id, addr, connections, updated_at}, TTL = lease
//
// A user is online while any member's score is in the future; an edge that dies stops refreshing,
// so its leases lapse within PresenceTTL and nothing has to clean up after it.
type presence struct {
	rdb    *goredis.Client
	prefix string
	ttl    time.Duration
}

func (p *presence) key(user string) string     { return p.prefix + "presence:" + user }
func (p *presence) seenKey(user string) string { return p.prefix + "lastseen:" + user }
func (p *presence) edgesKey() string           { return p.prefix + "edges" }
func (p *presence) edgeKey(id string) string   { return p.prefix + "edge:" + id }
func ms(t time.Time) string                    { return strconv.FormatInt(t.UnixMilli(), 10) }
func score(t time.Time) float64                { return float64(t.UnixMilli()) }

// up adds a device lease and reports whether it is the user's only live one (went online).
func (p *presence) up(ctx context.Context, user, connID string) (bool, error) {
	now := time.Now()
	var card *goredis.IntCmd
	_, err := p.rdb.TxPipelined(ctx, func(tx goredis.Pipeliner) error {
		tx.ZRemRangeByScore(ctx, p.key(user), "-inf", ms(now))
		tx.ZAdd(ctx, p.key(user), goredis.Z{Score: score(now.Add(p.ttl)), Member: connID})
		card = tx.ZCard(ctx, p.key(user))
		tx.PExpire(ctx, p.key(user), p.ttl)
		tx.Set(ctx, p.seenKey(user), now.UTC().Format(time.RFC3339Nano), 0)
		return nil
	})
	if err != nil {
		return false, err
	}
	return card.Val() == 1, nil
}

// down removes a device lease and reports whether no live one is left (went offline).
func (p *presence) down(ctx context.Context, user, connID string) (bool, error) {
	now := time.Now()
	var card *goredis.IntCmd
	_, err := p.rdb.TxPipelined(ctx, func(tx goredis.Pipeliner) error {
		tx.ZRem(ctx, p.key(user), connID)
		tx.ZRemRangeByScore(ctx, p.key(user), "-inf", ms(now))
		card = tx.ZCard(ctx, p.key(user))
		tx.Set(ctx, p.seenKey(user), now.UTC().Format(time.RFC3339Nano), 0)
		return nil
	})
	if err != nil {
		return false, err
	}
	return card.Val() == 0, nil
}

// refresh extends the leases of every connection this instance holds, in pipelined batches.
func (p *presence) refresh(ctx context.Context, conns []*conn) error {
	now := time.Now()
	exp := score(now.Add(p.ttl))
	seen := now.UTC().Format(time.RFC3339Nano)
	const batch = 1000
	for i := 0; i < len(conns); i += batch {
		pipe := p.rdb.Pipeline()
		for _, c := range conns[i:min(i+batch, len(conns))] {
			pipe.ZAdd(ctx, p.key(c.userID), goredis.Z{Score: exp, Member: c.id})
			pipe.PExpire(ctx, p.key(c.userID), p.ttl)
			pipe.Set(ctx, p.seenKey(c.userID), seen, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// register renews this instance's registry lease.
func (p *presence) register(ctx context.Context, id, addr string, conns int) error {
	now := time.Now()
	body, _ := json.Marshal(map[string]any{"id": id, "addr": addr, "connections": conns, "updated_at": now.UTC()})
	_, err := p.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.Set(ctx, p.edgeKey(id), body, p.ttl)
		pipe.ZAdd(ctx, p.edgesKey(), goredis.Z{Score: score(now.Add(p.ttl)), Member: id})
		pipe.ZRemRangeByScore(ctx, p.edgesKey(), "-inf", ms(now))
		return nil
	})
	return err
}

func (p *presence) unregister(ctx context.Context, id string) {
	_ = p.rdb.Del(ctx, p.edgeKey(id)).Err()
	_ = p.rdb.ZRem(ctx, p.edgesKey(), id).Err()
}

// LiveEdges lists the instances whose registry lease has not lapsed.
func (e *Edge) LiveEdges(ctx context.Context) ([]string, error) {
	return e.deps.Redis.ZRangeByScore(ctx, e.presence.edgesKey(),
		&goredis.ZRangeBy{Min: ms(time.Now()), Max: "+inf"}).Result()
}

// connected records the device lease and, when the user just came online, publishes
// im.presence.changed to the broker; the fanout function delivers it to the user's contacts.
// The update stops when the connection ends (disconnected removes the lease then).
func (e *Edge) connected(c *conn) {
	e.bg.Go(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 3*time.Second)
		defer cancel()
		first, err := e.presence.up(ctx, c.userID, c.id)
		if err != nil {
			if c.ctx.Err() == nil {
				e.log.Warn("presence up failed", "err", err)
			}
			return
		}
		if first {
			if err := e.publishPresence(ctx, c.userID, true); err != nil && c.ctx.Err() == nil {
				e.log.Warn("presence publish failed", "err", err)
			}
		}
	})
}

// disconnected removes the device lease and, when it was the user's last, publishes
// im.presence.changed. It runs after the connection ended, so on a context of its own.
func (e *Edge) disconnected(c *conn) {
	e.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		last, err := e.presence.down(ctx, c.userID, c.id)
		if err != nil {
			e.log.Warn("presence down failed", "err", err)
			return
		}
		if last {
			if err := e.publishPresence(ctx, c.userID, false); err != nil {
				e.log.Warn("presence publish failed", "err", err)
			}
		}
	})
}

func (e *Edge) publishPresence(ctx context.Context, user string, online bool) error {
	ev, err := events.New(uuid.Must(uuid.NewV7()).String(), e.source, events.TypePresenceChanged, user,
		events.PresenceChanged{UserID: user, Online: online, LastSeenAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	return e.deps.Producer.Publish(ctx, e.cfg.BrokerTopic, ev)
}

// Run consumes im.delivery and keeps this instance's leases (registry and device presence) until
// ctx ends; then it removes its registry entry. Call Drain before cancelling ctx.
func (e *Edge) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	if len(e.cfg.KafkaBrokers) > 0 {
		wg.Go(func() {
			if err := e.consume(ctx); err != nil {
				errc <- err
			}
		})
	}
	wg.Go(func() { e.keepLeases(ctx) })
	wg.Wait()
	e.bg.Wait() // presence updates in flight (each bounded by its own timeout)
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (e *Edge) keepLeases(ctx context.Context) {
	tick := time.NewTicker(e.cfg.PresenceTTL / 3)
	defer tick.Stop()
	for {
		if err := e.presence.register(ctx, e.cfg.EdgeID, e.cfg.Addr, e.Connections()); err != nil && ctx.Err() == nil {
			e.log.Warn("edge registry refresh failed", "err", err)
		}
		select {
		case <-ctx.Done():
			uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			e.presence.unregister(uctx, e.cfg.EdgeID)
			cancel()
			return
		case <-tick.C:
		}
		if err := e.presence.refresh(ctx, e.hub.all()); err != nil && ctx.Err() == nil {
			e.log.Warn("presence refresh failed", "err", err)
		}
	}
}
