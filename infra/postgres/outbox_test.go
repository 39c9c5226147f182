package postgres_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

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
