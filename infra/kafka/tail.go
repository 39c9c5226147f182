package kafka

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Tails share the newest records of each partition among the consumers of one process, so that N
// consumer groups reading one topic fetch each record once instead of N times. Each group keeps its
// own assignment, position and commits: only the bytes are shared.
//
// This is what the local platform's data plane needs: every Knative Trigger is its own consumer
// group on the one broker topic, and a record was fetched, decoded and answered once per Trigger
// (seven times), which was most of the platform's CPU. A consumer that falls further behind than
// the shared window reads on its own reader until it catches up, so a slow group never holds back
// another, and the shared tail never waits for any of them.
//
// The records handed out are shared: consumers must not modify a Message's Record.
type Tails struct {
	cfg TailsConfig

	mu    sync.Mutex
	tails map[topicPart]*tail
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc

	// Records handed out from the shared windows and from consumers' own readers.
	shared, own atomic.Int64
}

// TailsConfig configures Tails.
type TailsConfig struct {
	Brokers  []string
	Security Security
	// Window is how many of the newest records of a partition are kept; default 2048. A consumer
	// further behind reads on its own reader.
	Window int
	// MaxWait: how long a fetch long-polls an idle partition; default 250ms (see ConsumerConfig).
	MaxWait time.Duration
	// MaxBytes bounds one fetch response; default 4 MiB.
	MaxBytes int
	Logger   *slog.Logger
}

type topicPart struct {
	topic     string
	partition int
}

// NewTails returns an empty set of tails; a partition's tail starts when a consumer first asks for
// it. Close stops them.
func NewTails(cfg TailsConfig) *Tails {
	if cfg.Window <= 0 {
		cfg.Window = 2048
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 250 * time.Millisecond
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 4 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Tails{cfg: cfg, tails: map[topicPart]*tail{}, ctx: ctx, stop: stop}
}

// Close stops every tail and waits for their readers to close.
func (ts *Tails) Close() {
	ts.stop()
	ts.wg.Wait()
}

// tail returns the partition's tail, starting it at offset if it is not running.
func (ts *Tails) tail(topic string, partition int, offset int64) *tail {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	k := topicPart{topic, partition}
	if t := ts.tails[k]; t != nil {
		return t
	}
	t := &tail{start: offset, next: offset, window: ts.cfg.Window, wake: make(chan struct{})}
	ts.tails[k] = t
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: ts.cfg.Brokers, Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: ts.cfg.MaxBytes, MaxWait: ts.cfg.MaxWait, Dialer: ts.cfg.Security.dialer(),
	})
	ts.wg.Go(func() { t.run(ts.ctx, r, ts.cfg.Logger.With("topic", topic, "partition", partition)) })
	return t
}

// tail is the shared window of one partition: recs holds offsets [start, next) that exist, in
// order (a partition's offsets may skip, e.g. over transaction markers).
type tail struct {
	mu     sync.Mutex
	recs   []kafka.Message
	start  int64 // every record at or above start that is below next is in recs
	next   int64 // the offset the reader fetches next
	window int
	wake   chan struct{} // closed and replaced when records arrive
}

func (t *tail) run(ctx context.Context, r *kafka.Reader, log *slog.Logger) {
	defer r.Close()
	t.mu.Lock()
	from := t.next
	t.mu.Unlock()
	if err := r.SetOffset(from); err != nil {
		log.Error("shared tail: set offset", "offset", from, "err", err)
		return
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("shared tail: fetch failed, retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		t.append(m)
	}
}

func (t *tail) append(m kafka.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.Offset < t.next {
		return // a reader never goes back; ignore rather than corrupt the order
	}
	if len(t.recs) >= t.window {
		// Drop the oldest quarter at once: the slice is reused without sliding on every record.
		n := t.window / 4
		copy(t.recs, t.recs[n:])
		clear(t.recs[len(t.recs)-n:])
		t.recs = t.recs[:len(t.recs)-n]
		t.start = t.recs[0].Offset
	}
	t.recs = append(t.recs, m)
	t.next = m.Offset + 1
	close(t.wake)
	t.wake = make(chan struct{})
}

// errBehind: the wanted offset left the shared window (or precedes it).
var errBehind = errors.New("behind the shared tail")

// get returns the first record at or above offset, waiting for it; errBehind when offset is below
// the window.
func (t *tail) get(ctx context.Context, offset int64) (kafka.Message, error) {
	for {
		t.mu.Lock()
		if offset < t.start {
			t.mu.Unlock()
			return kafka.Message{}, errBehind
		}
		i := sort.Search(len(t.recs), func(i int) bool { return t.recs[i].Offset >= offset })
		if i < len(t.recs) {
			m := t.recs[i]
			t.mu.Unlock()
			return m, nil
		}
		wake := t.wake
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		case <-wake:
		}
	}
}

// covers reports whether offset can be read from the window (now or as the next record).
func (t *tail) covers(offset int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return offset >= t.start
}

// tailFetcher reads one claimed partition through the shared tail, on a reader of its own while it
// is behind the window (or its position is not known yet: a group without a committed offset
// starts from FirstOffset/LastOffset, which only a reader resolves).
type tailFetcher struct {
	ts        *Tails
	topic     string
	partition int
	pos       int64 // next offset wanted; negative = a start constant, not resolved yet
	own       func(offset int64) (*kafka.Reader, error)
	// resolve turns a start constant into the partition's offset, so a group without committed
	// offsets joins the window at once instead of long-polling on its own reader until its first
	// record (on an idle platform that was 56 readers instead of 8). On failure the own reader
	// resolves it.
	resolve func(ctx context.Context, constant int64) (int64, error)

	t *tail
	r *kafka.Reader // own reader while behind
}

func (f *tailFetcher) fetch(ctx context.Context) (kafka.Message, error) {
	if f.pos < 0 && f.resolve != nil && f.r == nil {
		if o, err := f.resolve(ctx, f.pos); err == nil {
			f.pos = o
		}
	}
	for {
		if f.pos >= 0 && f.t == nil {
			f.t = f.ts.tail(f.topic, f.partition, f.pos)
		}
		if f.r != nil && f.t != nil && f.t.covers(f.pos) {
			// Caught up: back to the shared window. Closing waits for the reader's fetch (up to
			// MaxWait): not on this partition's time.
			go f.r.Close()
			f.r = nil
		}
		if f.r == nil && f.t != nil {
			m, err := f.t.get(ctx, f.pos)
			if err == nil {
				f.pos = m.Offset + 1
				f.ts.shared.Add(1)
				return m, nil
			}
			if !errors.Is(err, errBehind) {
				return kafka.Message{}, err
			}
		}
		if f.r == nil {
			r, err := f.own(f.pos)
			if err != nil {
				return kafka.Message{}, err
			}
			f.r = r
		}
		m, err := f.r.FetchMessage(ctx)
		if err != nil {
			return kafka.Message{}, err
		}
		f.pos = m.Offset + 1
		f.ts.own.Add(1)
		return m, nil
	}
}

func (f *tailFetcher) close() {
	if f.r != nil {
		f.r.Close()
	}
}
