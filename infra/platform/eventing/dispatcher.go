package eventing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
)

// Subscription is what one Trigger or KafkaSource asks of the data plane.
type Subscription struct {
	// Name of the Trigger or KafkaSource (logs; a KafkaSource's wrapped events name it in source).
	Name      string
	Namespace string
	Topics    []string
	// GroupID is the consumer group: Knative uses knative-trigger-<ns>-<name> for a Trigger and
	// spec.consumerGroup for a KafkaSource.
	GroupID string
	// StartOffset for partitions without a committed offset; default kafka.FirstOffset.
	StartOffset int64
	// Types filters on the CloudEvent type (exact match, any of); empty lets everything through.
	Types []string
	// Attributes filters on extension attributes (exact match, all of), beside Types.
	Attributes map[string]string
	// Subscriber is the URL events are POSTed to.
	Subscriber string
	// Ordered delivers one record at a time per partition; otherwise up to MaxInFlight per partition.
	Ordered     bool
	MaxInFlight int
	Delivery    Delivery
	// ReplyTopic receives reply events (the broker topic for a Trigger); "" discards them (KafkaSource).
	ReplyTopic string
	// Source gives KafkaSource semantics: records without CloudEvent headers are wrapped as
	// dev.knative.kafka.event instead of being skipped.
	Source bool
}

// Deps are what a dispatcher runs on.
type Deps struct {
	Brokers []string
	// Security is how the dispatcher's consumer reaches the brokers (the local platform's kfake is
	// plaintext: the zero value).
	Security kafka.Security
	// Tails, when set, are shared with the other dispatchers of this process, so each record of a
	// topic is fetched once for all of their consumer groups (kafka.Tails); nil fetches per group.
	Tails     *kafka.Tails
	Publisher events.Publisher
	Client    *http.Client
	Log       *slog.Logger
	// Propagator carries trace context from record headers to the POST; default W3C trace context.
	Propagator propagation.TextMapPropagator
	// Consumer group timing (tests shorten them); zero values take infra/kafka's defaults.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	// CommitInterval: offsets are committed at most this often; default 1s (Knative: 5s). A
	// restarted dispatcher redelivers up to this much, which every subscriber tolerates.
	CommitInterval time.Duration
}

// Dispatcher delivers one subscription's records.
type Dispatcher struct {
	sub  Subscription
	deps Deps
	send sender
	log  *slog.Logger
	m    dispatchMetrics
}

// dispatchMetrics are one dispatcher's counters (the global meter provider), labelled trigger=<name>:
// parley_dispatch_delivered_total, parley_dispatch_retries_total, parley_dispatch_dead_letters_total,
// parley_dispatch_dropped_total (failed for good without a dead-letter sink) and
// parley_dispatch_lag_seconds (record time to successful delivery: the backlog a subscriber is behind).
type dispatchMetrics struct {
	attrs                                 metric.MeasurementOption
	delivered, retries, deadLetters, drop metric.Int64Counter
	lag                                   metric.Float64Histogram
}

func newDispatchMetrics(trigger string) dispatchMetrics {
	meter := otel.GetMeterProvider().Meter("github.com/parley-im/parley/infra/platform/eventing")
	// The instruments' errors are for invalid names only; these are constant and valid.
	m := dispatchMetrics{attrs: metric.WithAttributes(attribute.String("trigger", trigger))}
	m.delivered, _ = meter.Int64Counter("parley_dispatch_delivered", metric.WithDescription("events delivered to the subscriber"))
	m.retries, _ = meter.Int64Counter("parley_dispatch_retries", metric.WithDescription("failed attempts that were retried"))
	m.deadLetters, _ = meter.Int64Counter("parley_dispatch_dead_letters", metric.WithDescription("events written to the dead-letter topic"))
	m.drop, _ = meter.Int64Counter("parley_dispatch_dropped", metric.WithDescription("events that failed for good without a dead-letter sink"))
	m.lag, _ = meter.Float64Histogram("parley_dispatch_lag_seconds", metric.WithUnit("s"),
		metric.WithDescription("time from the record's append to its successful delivery"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	return m
}

// NewDispatcher validates sub.
func NewDispatcher(sub Subscription, deps Deps) (*Dispatcher, error) {
	if sub.Subscriber == "" || sub.GroupID == "" || len(sub.Topics) == 0 {
		return nil, fmt.Errorf("dispatcher %s: subscriber, group and topics are required", sub.Name)
	}
	if deps.Publisher == nil || len(deps.Brokers) == 0 {
		return nil, fmt.Errorf("dispatcher %s: publisher and brokers are required", sub.Name)
	}
	if sub.MaxInFlight <= 0 {
		sub.MaxInFlight = 64
	}
	if sub.Delivery.Timeout <= 0 {
		sub.Delivery.Timeout = 30 * time.Second
	}
	if deps.Client == nil {
		deps.Client = defaultClient()
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Propagator == nil {
		deps.Propagator = defaultPropagator()
	}
	if deps.CommitInterval <= 0 {
		deps.CommitInterval = time.Second
	}
	return &Dispatcher{
		sub:  sub,
		deps: deps,
		send: sender{client: deps.Client, prop: deps.Propagator, wantsReply: sub.ReplyTopic != ""},
		log:  deps.Log.With("dispatcher", sub.Name, "subscriber", sub.Subscriber),
		m:    newDispatchMetrics(sub.Name),
	}, nil
}

// Run consumes and delivers until ctx is done.
func (d *Dispatcher) Run(ctx context.Context) error {
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers:           d.deps.Brokers,
		Security:          d.deps.Security,
		Topics:            d.sub.Topics,
		GroupID:           d.sub.GroupID,
		StartOffset:       d.sub.StartOffset,
		Propagator:        d.deps.Propagator,
		Logger:            d.log,
		SessionTimeout:    d.deps.SessionTimeout,
		HeartbeatInterval: d.deps.HeartbeatInterval,
		CommitInterval:    d.deps.CommitInterval,
		Tails:             d.deps.Tails,
	})
	if err != nil {
		return err
	}
	if d.sub.Ordered {
		return c.Run(ctx, d.ordered)
	}
	return c.Run(ctx, d.unordered)
}

// ordered delivers a partition one record at a time: the next record waits for the previous one's
// success or final failure (head-of-line blocking, as Knative's ordered mode).
func (d *Dispatcher) ordered(ctx context.Context, cl *kafka.Claim) error {
	for {
		m, err := cl.Fetch(ctx)
		if err != nil {
			return fetchErr(ctx, err)
		}
		if !d.handle(ctx, m) {
			return nil // ctx ended mid-delivery: not committed, delivered again later
		}
		cl.Commit(m.Offset)
	}
}

// unordered delivers up to MaxInFlight records of a partition at once and commits an offset only
// when every earlier offset of the partition is finished.
func (d *Dispatcher) unordered(ctx context.Context, cl *kafka.Claim) error {
	var (
		wg  sync.WaitGroup
		tr  offsetTracker
		sem = make(chan struct{}, d.sub.MaxInFlight)
	)
	defer wg.Wait()
	for {
		m, err := cl.Fetch(ctx)
		if err != nil {
			return fetchErr(ctx, err)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		tr.add(m.Offset)
		wg.Go(func() {
			defer func() { <-sem }()
			if !d.handle(ctx, m) {
				return
			}
			if upTo, ok := tr.finish(m.Offset); ok {
				cl.Commit(upTo)
			}
		})
	}
}

func fetchErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("fetch: %w", err)
}

// handle delivers one record; false means ctx ended before it was finished.
func (d *Dispatcher) handle(ctx context.Context, m kafka.Message) bool {
	// Most records of a broker topic are for other triggers: drop them on the type header, before
	// paying for a decode (Knative filters after deserializing; the outcome is the same).
	if typ, ok := m.Record.BinaryType(); ok && len(d.sub.Types) > 0 && !slices.Contains(d.sub.Types, typ) {
		return true
	}
	e, err := m.Event()
	if errors.Is(err, events.ErrNotCloudEvent) && d.sub.Source {
		e, err = events.WrapRecord(d.sub.Namespace, d.sub.Name, m.Topic, m.Partition, m.Offset, m.Record, m.Time), nil
	}
	if err != nil {
		// A broker topic holds only CloudEvents; anything else cannot be delivered, ever.
		d.log.Warn("skipping record that is not a CloudEvent", "topic", m.Topic, "partition", m.Partition,
			"offset", m.Offset, "err", err)
		return true
	}
	if len(d.sub.Types) > 0 && !slices.Contains(d.sub.Types, e.Type()) {
		return true
	}
	for k, v := range d.sub.Attributes {
		if events.StringExtension(e, k) != v {
			return true
		}
	}
	if !d.deliver(m.Context(ctx), e) {
		return false
	}
	if !m.Time.IsZero() {
		d.m.lag.Record(ctx, time.Since(m.Time).Seconds(), d.m.attrs)
	}
	return true
}

// deliver POSTs e until it succeeds, fails for good (dead letter) or ctx ends (false).
func (d *Dispatcher) deliver(ctx context.Context, e event.Event) bool {
	del := d.sub.Delivery
	for n := 0; ; n++ {
		a := d.send.post(ctx, d.sub.Subscriber, e, del.Timeout)
		if ctx.Err() != nil {
			return false
		}
		if a.ok() {
			if a.reply == nil || d.sub.ReplyTopic == "" {
				d.m.delivered.Add(ctx, 1, d.m.attrs)
				return true
			}
			if err := d.deps.Publisher.Publish(ctx, d.sub.ReplyTopic, *a.reply); err != nil {
				// The reply is part of the delivery: storing it failed, so the attempt failed.
				a = attempt{status: a.status, err: fmt.Errorf("produce reply: %w", err)}
			} else {
				d.m.delivered.Add(ctx, 1, d.m.attrs)
				return true
			}
		}
		if !a.retryable() || n >= del.Retry {
			return d.deadLetter(ctx, e, a, n)
		}
		d.m.retries.Add(ctx, 1, d.m.attrs)
		wait := del.backoff(n + 1)
		// WARN from the second failure on: one failed attempt is routine (a restart), a run of them is not.
		lvl := slog.LevelDebug
		if n > 0 {
			lvl = slog.LevelWarn
		}
		d.log.Log(ctx, lvl, "delivery failed, retrying", "id", e.ID(), "type", e.Type(), "attempt", n+1,
			"result", a.String(), "backoff", wait, "correlationid", events.StringExtension(e, events.ExtCorrelationID))
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// deadLetter writes e with the error extensions to the dead-letter topic, insisting until it is
// stored (the record is not committed before), or drops it when there is no dead-letter sink.
func (d *Dispatcher) deadLetter(ctx context.Context, e event.Event, a attempt, retries int) bool {
	topic := d.sub.Delivery.DeadLetterTopic
	corr := events.StringExtension(e, events.ExtCorrelationID)
	if topic == "" {
		d.m.drop.Add(ctx, 1, d.m.attrs)
		d.log.WarnContext(ctx, "delivery failed, no dead-letter sink: dropped", "id", e.ID(), "type", e.Type(),
			"result", a.String(), "retries", retries, "correlationid", corr)
		return true
	}
	d.m.deadLetters.Add(ctx, 1, d.m.attrs)
	d.log.WarnContext(ctx, "delivery failed, dead-lettered", "id", e.ID(), "type", e.Type(), "result", a.String(),
		"retries", retries, "topic", topic, "correlationid", corr)
	dl := deadLetter(e, d.sub.Subscriber, a)
	for n := 1; ; n++ {
		err := d.deps.Publisher.Publish(ctx, topic, dl)
		if err == nil {
			return true
		}
		d.log.Error("dead-letter write failed, retrying", "id", e.ID(), "err", err)
		if !sleep(ctx, min(100*time.Millisecond*time.Duration(n), 5*time.Second)) {
			return false
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// offsetTracker knows which fetched offsets of one partition are finished, so an unordered
// dispatcher commits only below the first unfinished one.
type offsetTracker struct {
	mu      sync.Mutex
	pending []int64 // fetched, not yet committed, in fetch (= offset) order
	done    map[int64]bool
}

func (t *offsetTracker) add(o int64) {
	t.mu.Lock()
	t.pending = append(t.pending, o)
	t.mu.Unlock()
}

// finish marks o done and returns the highest offset whose predecessors are all done, if it moved.
func (t *offsetTracker) finish(o int64) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		t.done = map[int64]bool{}
	}
	t.done[o] = true
	upTo, moved := int64(0), false
	for len(t.pending) > 0 && t.done[t.pending[0]] {
		upTo, moved = t.pending[0], true
		delete(t.done, t.pending[0])
		t.pending = t.pending[1:]
	}
	return upTo, moved
}

// defaultClient has no overall timeout (each attempt has its own) and keeps connections to the
// subscribers warm.
func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
	}}
}

func defaultPropagator() propagation.TextMapPropagator { return propagation.TraceContext{} }
