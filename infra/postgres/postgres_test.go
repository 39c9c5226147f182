package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// ExecLazy is one pipelined transaction: its write commits without a durable flush, a failing
// statement changes nothing, and the connection it leaves in an aborted transaction never serves
// another caller.
func TestExecLazyCommitsAndFailsCleanly(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE lazy_marks (id int PRIMARY KEY, n int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.ExecLazy(ctx, pool, `INSERT INTO lazy_marks VALUES ($1, $2)`, 1, 10); err != nil {
		t.Fatalf("lazy insert: %v", err)
	}
	// The setting was the transaction's only: the pool's sessions keep durable commits.
	var sc string
	if err := pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&sc); err != nil || sc != "on" {
		t.Fatalf("synchronous_commit after ExecLazy = %q, %v; want on", sc, err)
	}
	// A failing statement (duplicate key) is reported and leaves the row as it was.
	if err := postgres.ExecLazy(ctx, pool, `INSERT INTO lazy_marks VALUES ($1, $2)`, 1, 20); !postgres.IsUniqueViolation(err, "") {
		t.Fatalf("duplicate lazy insert: err = %v, want a unique violation", err)
	}
	// No pooled connection was left inside the aborted transaction.
	var held []*pgxpool.Conn
	for range min(8, pool.Config().MaxConns) {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if st := c.Conn().PgConn().TxStatus(); st != 'I' {
			t.Fatalf("a pooled connection is in transaction state %q after the failure", st)
		}
	}
	for _, c := range held {
		c.Release()
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT n FROM lazy_marks WHERE id = 1`).Scan(&n); err != nil || n != 10 {
		t.Fatalf("after the failed insert n = %d, %v; want 10", n, err)
	}
	if err := postgres.ExecLazy(ctx, pool, `UPDATE lazy_marks SET n = $1 WHERE id = 1`, 30); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT n FROM lazy_marks WHERE id = 1`).Scan(&n); err != nil || n != 30 {
		t.Fatalf("after lazy update n = %d, %v; want 30", n, err)
	}
}
