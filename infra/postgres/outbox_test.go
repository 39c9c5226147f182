package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// recorder is a Publisher that remembers what it was given and can be made to fail.
type recorder struct {
	mu   sync.Mutex
	fail bool
	got  []string
}

func (r *recorder) Publish(_ context.Context, _ string, evs ...event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("broker down")
	}
	for _, e := range evs {
		r.got = append(r.got, e.ID())
	}
	return nil
}

func fact(t *testing.T, id string) event.Event {
	t.Helper()
	e, err := events.New(id, events.Source("test"), events.TypeUserDeleted, "u1", events.UserDeleted{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOutboxPublishesAfterCommitAndSweepsLeftovers(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	pub := &recorder{}
	ob := postgres.NewOutbox(pool, pub, "broker", slog.New(slog.NewTextHandler(io.Discard, nil)))

	// A rolled-back transaction leaves nothing to publish.
	rollback := errors.New("rollback")
	err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := ob.Add(ctx, tx, fact(t, "e0")); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}

	// Committed, then published and marked.
	e1 := fact(t, "e1")
	if err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error { return ob.Add(ctx, tx, e1) }); err != nil {
		t.Fatal(err)
	}
	ob.Flush(ctx, e1)

	// Committed, but the broker is down: Flush must not lose it; the sweep publishes it once.
	e2 := fact(t, "e2")
	if err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error { return ob.Add(ctx, tx, e2) }); err != nil {
		t.Fatal(err)
	}
	pub.fail = true
	ob.Flush(ctx, e2)
	if n, err := ob.Sweep(ctx, 0, 100); err == nil || n != 0 {
		t.Fatalf("sweep with the broker down: n=%d err=%v, want an error", n, err)
	}
	pub.fail = false
	if n, err := ob.Sweep(ctx, time.Hour, 100); err != nil || n != 0 {
		t.Fatalf("sweep must leave young rows alone: n=%d err=%v", n, err)
	}
	n, err := ob.Sweep(ctx, 0, 100)
	if err != nil || n != 1 {
		t.Fatalf("sweep published %d (err %v), want 1", n, err)
	}
	if n, _ := ob.Sweep(ctx, 0, 100); n != 0 {
		t.Fatalf("second sweep republished %d rows", n)
	}
	if want := []string{"e1", "e2"}; len(pub.got) != 2 || pub.got[0] != want[0] || pub.got[1] != want[1] {
		t.Fatalf("published %v, want %v", pub.got, want)
	}
}

// The relay publishes what it is handed in hand-over order (many hand-overs per publish under load),
// marks the rows published, and leaves to the sweep what it cannot publish.
func TestRelayPublishesInOrderAndLeavesFailuresToSweep(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	pub := &recorder{}
	ob := postgres.NewOutbox(pool, pub, "broker", slog.New(slog.NewTextHandler(io.Discard, nil)))
	var want []string
	var evs [][]event.Event
	for i := range 200 {
		e := fact(t, fmt.Sprintf("r%03d", i))
		if err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error { return ob.Add(ctx, tx, e) }); err != nil {
			t.Fatal(err)
		}
		want = append(want, e.ID())
		evs = append(evs, []event.Event{e})
	}
	r := ob.NewRelay(0)
	for _, e := range evs { // queued before Run: the first publish takes many hand-overs at once
		r.Enqueue(ctx, e...)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(rctx); close(done) }()
	select {
	case <-r.Idle():
	case <-time.After(5 * time.Second):
		t.Fatal("relay not idle")
	}
	pub.mu.Lock()
	got := append([]string(nil), pub.got...)
	pub.mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("published %v\nwant %v", got, want)
	}
	pub.mu.Lock()
	pub.got = nil
	pub.mu.Unlock()
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows left unpublished (%v)", left, err)
	}

	// Hand-overs while the relay runs are published as they come, and marked together: 40 rows
	// handed over within milliseconds share a few mark statements (one published_at each).
	var burst []string
	for i := range 40 {
		e := fact(t, fmt.Sprintf("b%03d", i))
		if err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error { return ob.Add(ctx, tx, e) }); err != nil {
			t.Fatal(err)
		}
		r.Enqueue(ctx, e)
		burst = append(burst, e.ID())
	}
	<-r.Idle()
	var marked, stamps int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT published_at) FROM outbox WHERE id = ANY($1)`, burst).
		Scan(&marked, &stamps); err != nil || marked != 40 || stamps == 0 || stamps > 10 {
		t.Fatalf("burst: %d of 40 rows marked in %d statements (%v); want all, in at most 10", marked, stamps, err)
	}

	// The broker fails: the event stays for the sweep, which publishes it once the broker is back.
	pub.mu.Lock()
	pub.fail = true
	pub.mu.Unlock()
	late := fact(t, "late")
	if err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error { return ob.Add(ctx, tx, late) }); err != nil {
		t.Fatal(err)
	}
	r.Enqueue(ctx, late)
	<-r.Idle()
	pub.mu.Lock()
	pub.fail = false
	pub.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	if n, err := ob.Sweep(ctx, time.Millisecond, 10); err != nil || n != 1 {
		t.Fatalf("sweep published %d (%v), want the one the relay could not", n, err)
	}
	cancel()
	<-done
}

// Prune deletes published rows older than the retention, oldest first and at most limit, and never
// an unpublished row, however old.
func TestPruneDeletesOnlyOldPublishedRows(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	ob := postgres.NewOutbox(pool, &recorder{}, "broker", slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 6 {
		id := fmt.Sprintf("p%d", i)
		if err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error { return ob.Add(ctx, tx, fact(t, id)) }); err != nil {
			t.Fatal(err)
		}
	}
	// p0-p2 published 3, 2 and 1 hours ago, p3 a minute ago; p4 unpublished for 5 hours; p5 fresh.
	for id, age := range map[string]string{"p0": "3 hours", "p1": "2 hours", "p2": "1 hour 1 minute", "p3": "1 minute"} {
		if _, err := pool.Exec(ctx, `UPDATE outbox SET published_at = now() - $2::interval WHERE id = $1`, id, age); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE outbox SET created_at = now() - interval '5 hours' WHERE id = 'p4'`); err != nil {
		t.Fatal(err)
	}
	left := func() []string {
		rows, err := pool.Query(ctx, `SELECT id FROM outbox ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if n, err := ob.Prune(ctx, time.Hour, 2); err != nil || n != 2 {
		t.Fatalf("first prune: %d, %v; want the 2 oldest", n, err)
	}
	if got := fmt.Sprint(left()); got != "[p2 p3 p4 p5]" {
		t.Fatalf("after the first prune: %s", got)
	}
	if n, err := ob.Prune(ctx, time.Hour, 100); err != nil || n != 1 {
		t.Fatalf("second prune: %d, %v; want p2", n, err)
	}
	if got := fmt.Sprint(left()); got != "[p3 p4 p5]" {
		t.Fatalf("after the second prune: %s", got)
	}
}

// committedPublisher records, for each event published, whether its outbox row was committed at
// that moment (visible to another connection): Outbox.InTx must publish only after commit.
type committedPublisher struct {
	pool      *pgxpool.Pool
	got       []string
	committed []bool
}

func (p *committedPublisher) Publish(ctx context.Context, topic string, evs ...event.Event) error {
	for _, e := range evs {
		var n int
		if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE id = $1 AND topic = $2`, e.ID(), topic).Scan(&n); err != nil {
			return err
		}
		p.got = append(p.got, e.ID())
		p.committed = append(p.committed, n == 1)
	}
	return nil
}

// Outbox.InTx stores what fn emits in fn's transaction and publishes it only once that committed:
// never when fn fails, never an event of an attempt that was retried.
func TestOutboxInTxPublishesOnlyAfterCommit(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	pub := &committedPublisher{pool: pool}
	ob := postgres.NewOutbox(pool, pub, "broker", slog.New(slog.NewTextHandler(io.Discard, nil)))
	rows := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// fn fails after emitting: its error comes back as it is, nothing is stored or published.
	refused := errors.New("refused")
	err := ob.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		emit(fact(t, "bad"))
		return refused
	})
	if err != refused {
		t.Fatalf("err %v, want fn's own error", err)
	}
	if len(pub.got) != 0 || rows() != 0 {
		t.Fatalf("a failed fn published %v and left %d rows", pub.got, rows())
	}

	// The first attempt hits a serialization failure and is retried: only the second attempt's
	// events are stored and published, after commit, and in emit order.
	attempts := 0
	err = ob.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		attempts++
		if attempts == 1 {
			emit(fact(t, "lost"))
			return &pgconn.PgError{Code: "40001"}
		}
		emit(fact(t, "a1"))
		if len(pub.got) != 0 {
			t.Error("published before commit")
		}
		emit(fact(t, "a2"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if attempts != 2 {
		t.Fatalf("%d attempts, want 2", attempts)
	}
	if fmt.Sprint(pub.got) != "[a1 a2]" || fmt.Sprint(pub.committed) != "[true true]" {
		t.Fatalf("published %v (committed %v), want [a1 a2], both committed first", pub.got, pub.committed)
	}
	var unpublished int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&unpublished); err != nil || unpublished != 0 || rows() != 2 {
		t.Fatalf("%d rows, %d unpublished (%v); want 2, both marked", rows(), unpublished, err)
	}

	// The commit itself fails (a deferred unique constraint is checked at COMMIT): nothing is published.
	pub.got = nil
	err = ob.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		emit(fact(t, "c1"))
		_, err := tx.Exec(ctx, `CREATE TEMP TABLE twice (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP;
			INSERT INTO twice VALUES (1), (1)`)
		return err
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" || len(pub.got) != 0 || rows() != 2 {
		t.Fatalf("err %v, published %v, %d rows; want the commit's unique violation and nothing new", err, pub.got, rows())
	}

	// Nothing emitted: nothing stored, nothing published.
	if err := ob.InTx(ctx, func(pgx.Tx, postgres.Emit) error { return nil }); err != nil || len(pub.got) != 0 || rows() != 2 {
		t.Fatalf("empty: err %v, published %v, %d rows", err, pub.got, rows())
	}
}
