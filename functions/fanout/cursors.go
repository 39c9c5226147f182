package fanout

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/infra/postgres"
)

// cursors writes delivery-cursor advances (delivery_cursors.delivered_seq) in batches: a message
// fact's handler records its advance and returns once its deliveries are published; a writer
// goroutine stores every advance recorded meanwhile in one statement, at most one statement per
// every. Writing each advance in its own transaction was one of the three PostgreSQL round trips of
// every message, and held the fact's ordered partition for it.
//
// Until an advance is written, this process reads it from memory (pendingSeq): the next fact
// of the conversation, handled here, sees it. A crash loses the advances not yet written, as a lazy
// commit lost in a server crash always could: the next fact then finds a gap and delivers it again
// from PostgreSQL with the same message seqs, which the edges drop as repeats. Another instance
// handling the conversation's next fact within the same few milliseconds does the same.
//
// Without a running writer (before start, after it stopped) an advance is written at once.
type cursors struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	every time.Duration
	// failures counts failed batch writes (parley_fanout_cursor_write_failures_total); the batch
	// stays pending and is written with the next one.
	failures metric.Int64Counter

	mu      sync.Mutex
	running bool
	pending map[string]int64 // conversation -> highest delivered seq not yet written
	kick    chan struct{}    // buffered 1: wakes the writer
	writes  int              // batch statements written (tests)
}

func newCursors(pool *pgxpool.Pool, log *slog.Logger, every time.Duration, failures metric.Int64Counter) *cursors {
	return &cursors{pool: pool, log: log, every: every, failures: failures, pending: map[string]int64{},
		kick: make(chan struct{}, 1)}
}

// advanceSQL moves cursors forward only (a late batch never moves one back). Conversations deleted
// meanwhile are skipped, and rows are locked in id order so two instances' batches cannot deadlock.
const advanceSQL = `INSERT INTO delivery_cursors AS d (conversation_id, delivered_seq, advanced_at)
	SELECT a.conv, a.seq, now() FROM unnest($1::text[], $2::bigint[]) AS a(conv, seq)
	WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = a.conv)
	ORDER BY a.conv
	ON CONFLICT (conversation_id) DO UPDATE SET delivered_seq = excluded.delivered_seq, advanced_at = now()
	WHERE d.delivered_seq < excluded.delivered_seq`

// pendingSeq is the advance of conv not written yet (0: none). Read it before reading the stored
// cursor: an advance leaves pending only after its write committed, so one of the two has it.
func (c *cursors) pendingSeq(conv string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[conv]
}

// advance records that conv is delivered up to seq. Lazy: a write lost in a crash only redelivers.
func (c *cursors) advance(ctx context.Context, conv string, seq int64) error {
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		return c.write(ctx, []string{conv}, []int64{seq})
	}
	if seq > c.pending[conv] {
		c.pending[conv] = seq
	}
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// start runs the writer until ctx ends; it then writes what is left (within a short grace) and
// later advances are written at once.
func (c *cursors) start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		c.running = true
		go c.run(ctx)
	}
}

func (c *cursors) run(ctx context.Context) {
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-c.kick:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			c.mu.Lock()
			c.running = false
			c.mu.Unlock()
			c.flush(dctx)
			return
		}
		wait := c.every // at most one statement per every: what arrives meanwhile waits for the next
		if !c.flush(ctx) {
			wait = time.Second // PostgreSQL is failing: retry, but do not hammer it
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		if c.hasPending() { // a failed batch, or advances recorded while writing: go again
			select {
			case c.kick <- struct{}{}:
			default:
			}
		}
	}
}

func (c *cursors) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

// flush writes every pending advance in one statement and reports whether it did. On failure
// they stay pending.
func (c *cursors) flush(ctx context.Context) bool {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return true
	}
	convs := make([]string, 0, len(c.pending))
	for conv := range c.pending {
		convs = append(convs, conv)
	}
	slices.Sort(convs)
	seqs := make([]int64, len(convs))
	for i, conv := range convs {
		seqs[i] = c.pending[conv]
	}
	c.mu.Unlock()
	if err := c.write(ctx, convs, seqs); err != nil {
		c.failures.Add(ctx, 1)
		c.log.WarnContext(ctx, "delivery cursor write failed; retrying with the next batch", "conversations", len(convs), "err", err)
		return false
	}
	c.mu.Lock()
	c.writes++
	for i, conv := range convs {
		if c.pending[conv] == seqs[i] { // not advanced again meanwhile
			delete(c.pending, conv)
		}
	}
	c.mu.Unlock()
	return true
}

func (c *cursors) write(ctx context.Context, convs []string, seqs []int64) error {
	return postgres.ExecLazy(ctx, c.pool, advanceSQL, convs, seqs)
}
