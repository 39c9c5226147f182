package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/parley-im/parley/events"
)

// Where a partition with no committed offset starts.
const (
	FirstOffset = kafka.FirstOffset
	LastOffset  = kafka.LastOffset
)

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	Brokers []string
	// Security is how connections are secured (TLS, SASL); the zero value is plaintext.
	Security Security
	Topics   []string
	// GroupID names the consumer group; its offsets are committed there. Empty means no group: this
	// process reads every partition of every topic from StartOffset and commits nothing (broadcast
	// readers, e.g. every socket-edge reading im.delivery). Partitions are listed once, at start.
	GroupID string
	// StartOffset applies when a partition has no committed offset: FirstOffset (default) or LastOffset.
	StartOffset int64
	// MaxWait is how long one fetch long-polls an idle partition; default 250ms. A record that arrives
	// is returned at once whatever this is; closing a partition reader waits for its fetch, so this
	// also bounds how long stopping takes.
	MaxWait time.Duration
	// MaxBytes bounds one fetch response; default 4 MiB.
	MaxBytes int
	// Group membership timing; defaults 10s / 1s / 10s (kafka-go's 30s/3s/30s make a restarted
	// process wait long for its partitions).
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// CommitInterval: finished offsets are committed at most this often (coalesced per partition),
	// and always when a partition is released. 0 commits as soon as the previous commit request is
	// answered. A crash loses at most this much progress, which at-least-once delivery redelivers.
	// Knative's Kafka dispatcher commits on a 5 s timer; a commit per record costs the consumer about
	// a third of its CPU.
	CommitInterval time.Duration
	// Propagator reads trace context from record headers; default W3C trace context.
	Propagator propagation.TextMapPropagator
	// Logger for rebalances and retried failures; default slog.Default().
	Logger *slog.Logger
	// Tails, when set, serves the claimed partitions from windows shared with the other consumers
	// of this process (see Tails): for many groups on one topic in one process.
	Tails *Tails
}

func (c *ConsumerConfig) setDefaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka consumer: no brokers")
	}
	if len(c.Topics) == 0 {
		return errors.New("kafka consumer: no topics")
	}
	if c.StartOffset == 0 {
		c.StartOffset = FirstOffset
	}
	if c.StartOffset != FirstOffset && c.StartOffset != LastOffset {
		return fmt.Errorf("kafka consumer: StartOffset must be FirstOffset or LastOffset, got %d", c.StartOffset)
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 250 * time.Millisecond
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 4 << 20
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.RebalanceTimeout <= 0 {
		c.RebalanceTimeout = 10 * time.Second
	}
	c.Propagator = defaultPropagator(c.Propagator)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Message is one consumed record.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Time      time.Time
	Record    events.Record

	prop propagation.TextMapPropagator
}

// Event decodes the record as a CloudEvent (binary or structured mode). A plain record gives
// events.ErrNotCloudEvent.
func (m Message) Event() (event.Event, error) { return events.FromRecord(m.Record) }

// Context returns ctx carrying the producer's span context from the record headers, so the
// consumer's span joins the producer's trace.
func (m Message) Context(ctx context.Context) context.Context {
	return ExtractTrace(ctx, m.prop, m.Record)
}

// Claim is one partition owned by this consumer for one group generation. Fetch and Commit may be
// called from different goroutines; Fetch itself is not for concurrent use.
type Claim struct {
	Topic     string
	Partition int

	fetch  func(context.Context) (kafka.Message, error)
	prop   propagation.TextMapPropagator
	commit func(topic string, partition int, next int64) // nil without a group
}

// Fetch blocks for the next record of the partition, in offset order.
func (c *Claim) Fetch(ctx context.Context) (Message, error) {
	m, err := c.fetch(ctx)
	if err != nil {
		return Message{}, err
	}
	return Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Time: m.Time,
		Record: toRecord(m), prop: c.prop}, nil
}

// Commit records that every offset of the partition up to and including offset is done. Commits are
// sent asynchronously and coalesced (several marks, one request); a crash before they are sent only
// redelivers, which at-least-once allows. Without a group it does nothing.
func (c *Claim) Commit(offset int64) {
	if c.commit != nil {
		c.commit(c.Topic, c.Partition, offset+1)
	}
}

// ClaimFunc processes one claimed partition until ctx ends (shutdown or rebalance) and returns.
// Returning early (an error) ends the generation: the partitions are claimed again after a rejoin.
type ClaimFunc func(ctx context.Context, c *Claim) error

// Consumer runs a ClaimFunc per partition. Partitions run in parallel; within one, order is the
// ClaimFunc's to keep.
type Consumer struct {
	cfg ConsumerConfig
}

// NewConsumer validates cfg.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Consumer{cfg: cfg}, nil
}

// Run claims partitions and runs fn for each until ctx is done; it then leaves the group and
// returns nil. Group and connection errors are logged and retried.
func (c *Consumer) Run(ctx context.Context, fn ClaimFunc) error {
	if c.cfg.GroupID == "" {
		return c.runUngrouped(ctx, fn)
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                c.cfg.GroupID,
		Brokers:           c.cfg.Brokers,
		Topics:            c.cfg.Topics,
		StartOffset:       c.cfg.StartOffset,
		SessionTimeout:    c.cfg.SessionTimeout,
		HeartbeatInterval: c.cfg.HeartbeatInterval,
		RebalanceTimeout:  c.cfg.RebalanceTimeout,
		JoinGroupBackoff:  time.Second,
		Dialer:            c.cfg.Security.dialer(),
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", c.cfg.GroupID, err)
	}
	defer group.Close()
	log := c.cfg.Logger.With("group", c.cfg.GroupID)
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			// The group retries joins itself (with JoinGroupBackoff); this only reports.
			log.Warn("consumer group join failed, retrying", "err", err)
			continue
		}
		log.Debug("consumer group generation", "generation", gen.ID, "assignments", gen.Assignments)
		cm := &committer{gen: gen, wake: make(chan struct{}, 1), interval: c.cfg.CommitInterval, log: log}
		for topic, parts := range gen.Assignments {
			for _, pa := range parts {
				gen.Start(func(gctx context.Context) {
					c.runClaim(ctx, gctx, topic, pa.ID, pa.Offset, cm, fn)
				})
			}
		}
		gen.Start(func(gctx context.Context) { cm.run(ctx, gctx) })
	}
}

// runClaim runs fn over one partition with a dedicated reader; it returns when fn does.
func (c *Consumer) runClaim(ctx, gctx context.Context, topic string, partition int, offset int64,
	cm *committer, fn ClaimFunc) {
	// The generation's context does not descend from ctx: stop on whichever ends first.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(gctx, cancel)
	defer stop()

	claim := &Claim{Topic: topic, Partition: partition, prop: c.cfg.Propagator}
	if c.cfg.Tails != nil {
		f := &tailFetcher{ts: c.cfg.Tails, topic: topic, partition: partition, pos: offset,
			own: func(o int64) (*kafka.Reader, error) { return c.reader(topic, partition, o) },
			resolve: func(ctx context.Context, constant int64) (int64, error) {
				return c.resolve(ctx, topic, partition, constant)
			}}
		defer f.close()
		claim.fetch = f.fetch
	} else {
		r, err := c.reader(topic, partition, offset)
		if err != nil {
			c.cfg.Logger.Error("set offset", "topic", topic, "partition", partition, "err", err)
			return
		}
		defer r.Close()
		claim.fetch = r.FetchMessage
	}
	if cm != nil {
		claim.commit = cm.mark
		// Commit what this partition finished before the generation's connection goes away.
		defer cm.flush()
	}
	if err := fn(wctx, claim); err != nil && wctx.Err() == nil {
		c.cfg.Logger.Error("partition consumer stopped", "group", c.cfg.GroupID, "topic", topic,
			"partition", partition, "err", err)
	}
}

// resolve returns the partition's first (FirstOffset) or next (LastOffset) offset, asking its leader.
func (c *Consumer) resolve(ctx context.Context, topic string, partition int, constant int64) (int64, error) {
	var errs []error
	for _, b := range c.cfg.Brokers {
		conn, err := c.cfg.Security.dialer().DialLeader(ctx, "tcp", b, topic, partition)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defer conn.Close()
		if constant == FirstOffset {
			return conn.ReadFirstOffset()
		}
		return conn.ReadLastOffset()
	}
	return 0, fmt.Errorf("resolve %s/%d: %w", topic, partition, errors.Join(errs...))
}

// reader is a partition reader positioned at offset (or a FirstOffset/LastOffset constant).
func (c *Consumer) reader(topic string, partition int, offset int64) (*kafka.Reader, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   c.cfg.Brokers,
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  c.cfg.MaxBytes,
		MaxWait:   c.cfg.MaxWait,
		Dialer:    c.cfg.Security.dialer(),
	})
	if err := r.SetOffset(offset); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (c *Consumer) runUngrouped(ctx context.Context, fn ClaimFunc) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, topic := range c.cfg.Topics {
		parts, err := Partitions(ctx, Cluster{Brokers: c.cfg.Brokers, Security: c.cfg.Security}, topic)
		if err != nil {
			return err
		}
		for _, p := range parts {
			wg.Go(func() {
				// A ClaimFunc that fails is restarted after a pause: without a group there is no
				// rebalance to do it.
				for ctx.Err() == nil {
					c.runClaim(ctx, ctx, topic, p, c.cfg.StartOffset, nil, fn)
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
			})
		}
	}
	<-ctx.Done()
	return nil
}

// committer coalesces the offsets the partitions of one generation finished into few commits.
type committer struct {
	gen      *kafka.Generation
	wake     chan struct{}
	interval time.Duration // least time between two commits
	log      *slog.Logger

	mu      sync.Mutex
	pending map[string]map[int]int64
	sendMu  sync.Mutex // one commit request at a time per generation connection
}

func (cm *committer) mark(topic string, partition int, next int64) {
	cm.mu.Lock()
	if cm.pending == nil {
		cm.pending = map[string]map[int]int64{}
	}
	if cm.pending[topic] == nil {
		cm.pending[topic] = map[int]int64{}
	}
	if next > cm.pending[topic][partition] {
		cm.pending[topic][partition] = next
	}
	cm.mu.Unlock()
	select {
	case cm.wake <- struct{}{}:
	default:
	}
}

func (cm *committer) flush() {
	cm.sendMu.Lock()
	defer cm.sendMu.Unlock()
	cm.mu.Lock()
	offs := cm.pending
	cm.pending = nil
	cm.mu.Unlock()
	if len(offs) == 0 {
		return
	}
	if err := cm.gen.CommitOffsets(offs); err != nil {
		// Not fatal: the records are delivered again after the rebalance (at-least-once).
		cm.log.Warn("commit offsets failed", "generation", cm.gen.ID, "err", err)
	}
}

func (cm *committer) run(ctx, gctx context.Context) {
	defer cm.flush()
	for {
		select {
		case <-ctx.Done():
			return
		case <-gctx.Done():
			return
		case <-cm.wake:
			cm.flush()
		}
		if cm.interval > 0 {
			t := time.NewTimer(cm.interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-gctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// Handler processes one record. An error means "not done": the record is retried (with backoff, the
// partition waiting) and never skipped; a handler that wants to drop a record logs and returns nil.
type Handler func(ctx context.Context, m Message) error

// Consume is the common at-least-once loop: every partition in parallel, each one record at a time
// in offset order (so per-key order holds), commit after the handler succeeded. It blocks until ctx
// is done.
func Consume(ctx context.Context, cfg ConsumerConfig, h Handler) error {
	c, err := NewConsumer(cfg)
	if err != nil {
		return err
	}
	return c.Run(ctx, func(ctx context.Context, cl *Claim) error {
		for {
			m, err := cl.Fetch(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for attempt := 0; ; attempt++ {
				err := h(m.Context(ctx), m)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return nil
				}
				d := min(50*time.Millisecond<<min(attempt, 7), 5*time.Second)
				c.cfg.Logger.Warn("record handler failed, retrying", "topic", m.Topic,
					"partition", m.Partition, "offset", m.Offset, "attempt", attempt+1, "in", d, "err", err)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(d):
				}
			}
			cl.Commit(m.Offset)
		}
	})
}
