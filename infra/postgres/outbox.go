package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/events"
)

// Outbox writes facts in the caller's transaction and publishes them after commit. A row left
// unpublished (the process died, the broker was down) is republished by Sweep; the event id is fixed
// in the row, so consumers can deduplicate a republished event.
//
// Metrics (OpenTelemetry, the global meter provider): parley_outbox_publish_failures_total (a flush
// or relay hand-over left its events to the sweep). The sweep function counts what it republishes.
type Outbox struct {
	pool  *pgxpool.Pool
	pub   events.Publisher
	topic string
	log   *slog.Logger

	publishFailures metric.Int64Counter
}

// NewOutbox publishes to topic (the broker topic) through pub.
func NewOutbox(pool *pgxpool.Pool, pub events.Publisher, topic string, log *slog.Logger) *Outbox {
	meter := otel.GetMeterProvider().Meter("github.com/parley-im/parley/infra/postgres")
	// The instruments' errors are for invalid names only; these are constant and valid.
	pf, _ := meter.Int64Counter("parley_outbox_publish_failures",
		metric.WithDescription("outbox flushes whose publish failed (their events wait for the sweep)"))
	return &Outbox{pool: pool, pub: pub, topic: topic, log: log, publishFailures: pf}
}

// OutboxInsert begins the statement that stores an outbox row. The row's values are, in this order,
// the event's id, the topic it is published to (Outbox.Topic) and the event in structured JSON
// (json.Marshal of the event.Event), which Sweep decodes. Add writes its rows with it; a statement
// that must write its row itself, in the round trip of the state change (send's one-statement
// insert), appends its own VALUES or SELECT, so the row's format is still known here only.
const OutboxInsert = `INSERT INTO outbox (id, topic, event)`

// Topic is the topic o publishes to: the topic column of the rows it writes.
func (o *Outbox) Topic() string { return o.topic }

// Emit adds facts to the outbox rows of the transaction it was given with (Outbox.InTx).
type Emit func(evs ...event.Event)

// InTx runs fn in a transaction (InTx: a serialization failure or deadlock runs fn again, so fn must
// only touch the database and emit), stores the facts fn emits in the outbox in that transaction,
// and publishes them once it has committed (Flush). When fn or the commit fails nothing is
// published: the rows rolled back with the change. fn's error is returned as it is (callers return
// catalog errors through it); emit must not be used after fn returns. The transaction runs on o's pool.
func (o *Outbox) InTx(ctx context.Context, fn func(tx pgx.Tx, emit Emit) error) error {
	var evs []event.Event
	emit := func(e ...event.Event) { evs = append(evs, e...) }
	err := InTx(ctx, o.pool, func(tx pgx.Tx) error {
		evs = evs[:0] // a retried attempt emits again
		if err := fn(tx, emit); err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		return o.Add(ctx, tx, evs...)
	})
	if err != nil {
		return err
	}
	o.Flush(ctx, evs...)
	return nil
}

// Add stores evs in tx. Call Flush with the same events once tx has committed (InTx does both).
func (o *Outbox) Add(ctx context.Context, tx pgx.Tx, evs ...event.Event) error {
	batch := &pgx.Batch{}
	for _, e := range evs {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("outbox encode %s: %w", e.Type(), err)
		}
		batch.Queue(OutboxInsert+` VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, e.ID(), o.topic, body)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("outbox insert: %w", err)
	}
	return nil
}

// Flush publishes committed events and marks them published. An error is logged and swallowed: the
// state change is committed, and Sweep will publish what is left.
func (o *Outbox) Flush(ctx context.Context, evs ...event.Event) {
	if o.publish(ctx, evs...) {
		o.mark(ctx, ids(evs))
	}
}

// publish publishes evs and reports whether it did; a failure is logged and counted (the rows wait
// for Sweep).
func (o *Outbox) publish(ctx context.Context, evs ...event.Event) bool {
	if len(evs) == 0 {
		return false
	}
	if err := o.pub.Publish(ctx, o.topic, evs...); err != nil {
		o.publishFailures.Add(ctx, 1)
		o.log.WarnContext(ctx, "outbox publish failed; the sweep will retry", "events", len(evs), "first_id", evs[0].ID(), "err", err)
		return false
	}
	return true
}

// mark records the rows of ids as published. Lazy: a mark lost in a server crash only makes the
// sweep republish (consumers deduplicate).
func (o *Outbox) mark(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := ExecLazy(ctx, o.pool, `UPDATE outbox SET published_at = now() WHERE id = ANY($1)`, ids); err != nil {
		o.log.WarnContext(ctx, "outbox mark published failed; the sweep will republish", "err", err)
	}
}

func ids(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

// Sweep publishes up to limit rows left unpublished for longer than olderThan, oldest first, and
// returns how many it published. Concurrent sweeps skip each other's rows.
func (o *Outbox) Sweep(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	var n int
	err := InTx(ctx, o.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, topic, event FROM outbox
			WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1)
			ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`, olderThan.Seconds(), limit)
		if err != nil {
			return err
		}
		byTopic := map[string][]event.Event{}
		var ids []string
		for rows.Next() {
			var id, topic string
			var body []byte
			if err := rows.Scan(&id, &topic, &body); err != nil {
				return err
			}
			var e event.Event
			if err := json.Unmarshal(body, &e); err != nil {
				return fmt.Errorf("outbox row %s: %w", id, err)
			}
			byTopic[topic] = append(byTopic[topic], e)
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for topic, evs := range byTopic {
			if err := o.pub.Publish(ctx, topic, evs...); err != nil {
				return fmt.Errorf("sweep publish: %w", err)
			}
		}
		if len(ids) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE outbox SET published_at = now() WHERE id = ANY($1)`, ids); err != nil {
				return err
			}
		}
		// Every row here is a fact its consumers got late: say which, so a trace can be followed.
		for _, evs := range byTopic {
			for _, e := range evs {
				o.log.WarnContext(ctx, "outbox row republished by the sweep", "id", e.ID(), "type", e.Type(),
					"correlationid", events.StringExtension(e, events.ExtCorrelationID))
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// Prune deletes up to limit rows published more than retention ago (oldest first) and returns how
// many. Unpublished rows are never touched, however old: they are the sweep's to publish.
func (o *Outbox) Prune(ctx context.Context, retention time.Duration, limit int) (int, error) {
	tag, err := o.pool.Exec(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
		WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)
		ORDER BY published_at LIMIT $2)`, retention.Seconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("outbox prune: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Relay publishes committed outbox events in the background, in the order they were handed over,
// so a caller can answer as soon as its transaction commits: the publish and the "mark published"
// update leave the request's critical path (for an ordered trigger, the partition's). One goroutine
// publishes everything queued meanwhile in one call, so under load a publish serves many commits,
// and marks what it published at most every markEvery in one statement (marking per publish was
// one transaction per message at moderate rates). An event that cannot be queued or published stays
// in its outbox row for Sweep: nothing is lost, it is only late (and counted, see Outbox).
type Relay struct {
	o     *Outbox
	queue chan []event.Event
	idle  chan struct{} // closed and replaced each time the relay has nothing in hand
	mu    sync.Mutex
	busy  int // event batches queued, being published or waiting for their mark

	marks  []string // published, not marked yet (Run's goroutine only)
	marksN int      // the batches they complete
}

// markEvery is the longest a published row waits for its mark (the sweep only republishes rows
// seconds old, so a delay this short never makes it republish).
const markEvery = 50 * time.Millisecond

// NewRelay returns a relay over o holding at most queue batches; call Run.
func (o *Outbox) NewRelay(queue int) *Relay {
	if queue <= 0 {
		queue = 1024
	}
	return &Relay{o: o, queue: make(chan []event.Event, queue), idle: make(chan struct{})}
}

// Topic is the topic r publishes to (its outbox's): the topic column of the rows handed to it.
func (r *Relay) Topic() string { return r.o.topic }

// Enqueue hands committed events to the relay without blocking. When the queue is full they are
// left to the sweep (logged and counted).
func (r *Relay) Enqueue(ctx context.Context, evs ...event.Event) {
	if len(evs) == 0 {
		return
	}
	r.mu.Lock()
	r.busy++
	r.mu.Unlock()
	select {
	case r.queue <- evs:
	default:
		r.done(1)
		r.o.publishFailures.Add(ctx, 1)
		r.o.log.WarnContext(ctx, "outbox relay queue full; the sweep will publish", "events", len(evs), "first_id", evs[0].ID())
	}
}

// Run publishes until ctx ends, then publishes and marks what is still queued (with a short grace)
// and returns.
func (r *Relay) Run(ctx context.Context) {
	var tick <-chan time.Time
	for {
		select {
		case evs := <-r.queue:
			r.publish(ctx, evs)
			switch {
			case len(r.marks) >= maxRelayBatch:
				r.mark(ctx)
			case len(r.marks) > 0 && tick == nil:
				tick = time.After(markEvery)
			}
		case <-tick:
			tick = nil
			r.mark(ctx)
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			for {
				select {
				case evs := <-r.queue:
					r.publish(dctx, evs)
				default:
					r.mark(dctx)
					return
				}
			}
		}
	}
}

// maxRelayBatch bounds the events of one publish, and the marks of one statement.
const maxRelayBatch = 1000

// publish publishes first and whatever else is queued now, in queue order, in one call.
func (r *Relay) publish(ctx context.Context, first []event.Event) {
	all, n := append([]event.Event(nil), first...), 1
	for len(all) < maxRelayBatch {
		select {
		case evs := <-r.queue:
			all = append(all, evs...)
			n++
			continue
		default:
		}
		break
	}
	if !r.o.publish(context.WithoutCancel(ctx), all...) {
		r.done(n)
		return
	}
	r.marks = append(r.marks, ids(all)...)
	r.marksN += n
}

// mark writes the pending marks in one statement.
func (r *Relay) mark(ctx context.Context) {
	if len(r.marks) == 0 {
		return
	}
	r.o.mark(context.WithoutCancel(ctx), r.marks)
	r.done(r.marksN)
	r.marks, r.marksN = nil, 0
}

func (r *Relay) done(n int) {
	r.mu.Lock()
	r.busy -= n
	if r.busy == 0 {
		close(r.idle)
		r.idle = make(chan struct{})
	}
	r.mu.Unlock()
}

// Idle returns a channel closed once nothing is queued, being published or waiting for its mark
// (tests wait on it).
func (r *Relay) Idle() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return r.idle
}
