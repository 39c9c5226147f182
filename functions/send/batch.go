package send

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
)

// groupCommit batches concurrent sends into one transaction and hands their facts to the relay in
// one piece: under load each commit (one WAL flush) serves many messages instead of one. There
// is no background goroutine: a caller that finds a free committer slot becomes the leader and
// commits what is queued, in order, until its own message is committed. With no
// concurrency a batch is one message and costs what a plain insert does.
type groupCommit struct {
	store    *store
	flush    func(ctx context.Context, evs ...event.Event)
	maxBatch int
	slots    chan struct{} // concurrent leaders (transactions in flight)

	mu    sync.Mutex
	queue []*queued

	largest atomic.Int64 // the largest batch committed so far (tests: proof that batching happened)
}

// queued is one caller's message. Everything published for it comes from its own fields: the
// leader commits and flushes other callers' messages, so it must never use state of its own call.
type queued struct {
	m        newMessage
	deadline time.Time   // the command's (zero: none, as on the HTTP path)
	fact     event.Event // this message's own fact (id = its outbox row's); commit sets its seq
	seq      int64
	push     bool // some other member may get a push (events.ExtPush)
	err      error
	done     chan struct{}
}

func newGroupCommit(s *store, flush func(context.Context, ...event.Event), leaders, maxBatch int) *groupCommit {
	return &groupCommit{store: s, flush: flush, maxBatch: maxBatch, slots: make(chan struct{}, leaders)}
}

// insert stores m (as store.insert does) with fact, its im.message.created event, and returns its
// seq once committed; the fact, its data given the seq, is flushed with the batch's.
func (g *groupCommit) insert(ctx context.Context, m newMessage, fact event.Event) (int64, error) {
	q := &queued{m: m, fact: fact, done: make(chan struct{})}
	q.deadline, _ = serve.CommandDeadline(ctx)
	g.mu.Lock()
	g.queue = append(g.queue, q)
	g.mu.Unlock()
	select {
	case <-q.done:
	case g.slots <- struct{}{}:
		// Lead until our own message is committed, then hand over: every queued caller waits for its
		// message or a free slot, so one of them leads next. A leader that kept committing while others
		// kept queueing held its own request for as long as the load lasted (seconds, measured: the
		// ordered send partitions stalled behind it).
		for !q.finished() {
			batch := g.take()
			if len(batch) == 0 {
				break
			}
			g.commit(ctx, batch)
		}
		<-g.slots
		<-q.done // another leader may hold it
	case <-ctx.Done():
		// The message may still be committed by a leader; the client's retry finds it by client_msg_id.
		return 0, ctx.Err()
	}
	return q.seq, q.err
}

// finished reports whether q's commit is over.
func (q *queued) finished() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

func (g *groupCommit) take() []*queued {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(g.queue), g.maxBatch)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	return batch
}

func (g *groupCommit) commit(ctx context.Context, batch []*queued) {
	if batch = dropExpired(batch, time.Now()); len(batch) == 0 {
		return
	}
	if n := int64(len(batch)); n > g.largest.Load() {
		g.largest.Store(n) // only leaders write, and a lost race only under-reports
	}
	// The batch belongs to many callers: one caller's cancellation must not fail the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if len(batch) == 1 || !g.commitTogether(ctx, batch) {
		// One statement per message: each is its own transaction, so one failure (a duplicate
		// client_msg_id, a bad file reference) stays that message's own.
		for _, q := range batch {
			var v verdict
			v, q.err = g.store.insert(ctx, q.m)
			q.seq, q.push = v.seq, v.push
		}
	}
	var facts []event.Event
	for _, q := range batch {
		if q.err == nil {
			m := q.m.msg
			m.Seq = q.seq
			if q.push { // as the outbox row has it (insertSQL)
				q.fact.SetExtension(events.ExtPush, "true")
			}
			if q.err = q.fact.SetData(event.ApplicationJSON, events.MessageFact{Message: m}); q.err == nil {
				facts = append(facts, q.fact)
			}
		}
	}
	if len(facts) > 0 && g.flush != nil {
		g.flush(ctx, facts...)
	}
	for _, q := range batch {
		close(q.done)
	}
}

// dropExpired finishes, unapplied, the messages whose command deadline passed while they queued
// (serve.ErrExpired: the edge answers their senders "unavailable"), and returns the rest. Under
// overload the queue is where time goes; committing what nobody waits for any more would turn
// into "stored after the error" answers and keep the backlog growing.
func dropExpired(batch []*queued, now time.Time) []*queued {
	live := batch[:0:0]
	for _, q := range batch {
		if !q.deadline.IsZero() && now.After(q.deadline) {
			q.err = serve.ErrExpired
			close(q.done)
			continue
		}
		live = append(live, q)
	}
	return live
}

// commitTogether runs the batch in one transaction, the statements pipelined in one round trip. Any
// statement error aborts it (false): the caller then retries message by message.
func (g *groupCommit) commitTogether(ctx context.Context, batch []*queued) bool {
	vs := make([]verdict, len(batch))
	// Lock conversation rows in one global order (by id; queue order within a conversation), or two
	// leaders whose batches share conversations can deadlock on them.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return batch[order[a]].m.msg.ConversationID < batch[order[b]].m.msg.ConversationID
	})
	b := &pgx.Batch{}
	for _, i := range order {
		q := batch[i]
		b.Queue(insertSQL, g.store.args(q.m)...).QueryRow(func(row pgx.Row) error {
			return row.Scan(vs[i].dest()...)
		})
	}
	// One round trip for the whole transaction (BEGIN and COMMIT pipelined with the inserts).
	err := postgres.BatchTx(ctx, g.store.pool, b)
	if err != nil {
		if !postgres.IsUniqueViolation(err, "") {
			g.store.log.WarnContext(ctx, "batched send failed; retrying one by one", "messages", len(batch), "err", err)
		}
		return false
	}
	for i, q := range batch {
		q.seq, q.push, q.err = vs[i].seq, vs[i].push, vs[i].refusal()
	}
	return true
}
