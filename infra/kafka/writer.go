package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/parley-im/parley/events"
)

// Config configures a Writer.
type Config struct {
	// Brokers are the bootstrap addresses ("host:port").
	Brokers []string
	// Security is how connections are secured (TLS, SASL); the zero value is plaintext.
	Security Security
	// BatchTimeout is how long kafka-go waits to fill a batch; default (zero) none. A process that
	// is idle between publishes sleeps in the runtime's poller, whose granularity is a millisecond,
	// so even a 100µs timeout cost ~1.3 ms a publish (BenchmarkPublishIdle: p50 1,283 µs with
	// 100µs, 162 µs without), and a message takes three publishes to reach its recipients. Batching
	// comes instead from the writer itself: publishes that arrive while a write is in flight go out
	// together in the next one (natural batching), so a busy process still sends few requests.
	BatchTimeout time.Duration
	// WriteTimeout bounds one produce request; default 10s.
	WriteTimeout time.Duration
	// Propagator carries trace context into record headers; default W3C trace context.
	Propagator propagation.TextMapPropagator
}

// Writer publishes records and CloudEvents. It is safe for concurrent use; Publish returns only when
// every in-sync replica has the records (RequireAll), so a caller that answers "stored" after it may.
//
// One write is in flight at a time: a publish finding none starts it at once, and the publishes
// that arrive meanwhile are written together when it returns, each told its own outcome. Under load
// that is one produce request per partition per round trip, whatever the number of callers; idle,
// a publish waits for nothing.
type Writer struct {
	w    *kafka.Writer
	prop propagation.TextMapPropagator

	timeout time.Duration // bounds one flush: it serves callers that may not have a deadline

	mu      sync.Mutex
	queue   []*write // waiting for the next write, in arrival order
	writing bool     // a flush goroutine is running
}

var _ events.Publisher = (*Writer)(nil)

// write is one caller's messages and where its outcome goes.
type write struct {
	msgs []kafka.Message
	done chan error // buffered: the flush never waits for a caller that gave up
}

// NewWriter builds a Writer. The topic is set per message, never on the writer, so one Writer serves
// every topic of a process.
func NewWriter(cfg Config) (*Writer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka writer: no brokers")
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = time.Nanosecond // kafka-go's zero means its own default, 1s
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	return &Writer{
		w: &kafka.Writer{
			Addr:         kafka.TCP(cfg.Brokers...),
			Transport:    cfg.Security.transport(),
			RequiredAcks: kafka.RequireAll, // the zero value is RequireNone: fire and forget
			BatchTimeout: cfg.BatchTimeout,
			WriteTimeout: cfg.WriteTimeout,
			// Java's default partitioner is murmur2: the Knative Kafka receiver and we place a key on
			// the same partition, which is what keeps one conversation in order.
			Balancer:               &kafka.Murmur2Balancer{},
			AllowAutoTopicCreation: false,
		},
		prop:    defaultPropagator(cfg.Propagator),
		timeout: cfg.WriteTimeout,
	}, nil
}

// Publish writes evs to topic in binary mode, keyed by their partitionkey, with the trace context
// of ctx in the headers (the contract: events.Publisher). An invalid event fails the call before
// anything is written, and the error names it; a failed write does not say which events were stored.
func (w *Writer) Publish(ctx context.Context, topic string, evs ...event.Event) error {
	recs := make([]events.Record, 0, len(evs))
	for _, e := range evs {
		r, err := events.ToRecord(e)
		if err != nil {
			return fmt.Errorf("publish %s id %s: %w", e.Type(), e.ID(), err)
		}
		recs = append(recs, r)
	}
	return w.WriteRecords(ctx, topic, recs...)
}

// WriteRecords writes records as they are (plus trace headers) to topic.
func (w *Writer) WriteRecords(ctx context.Context, topic string, recs ...events.Record) error {
	if len(recs) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(recs))
	for _, r := range recs {
		// Copy the headers: injecting trace context must not write into the caller's record.
		r.Headers = append(make([]events.Header, 0, len(r.Headers)+2), r.Headers...)
		w.prop.Inject(ctx, HeaderCarrier{Headers: &r.Headers})
		msgs = append(msgs, toMessage(topic, r))
	}
	if err := w.write(ctx, msgs); err != nil {
		return fmt.Errorf("kafka write %s: %w", topic, err)
	}
	return nil
}

// write queues msgs for the next write and waits for its outcome or ctx. A caller that gives up
// while its messages still wait takes them back; once they are being written they may still land,
// as with any publish whose caller stopped waiting.
func (w *Writer) write(ctx context.Context, msgs []kafka.Message) error {
	wr := &write{msgs: msgs, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, wr)
	if !w.writing {
		w.writing = true
		go w.flush()
	}
	w.mu.Unlock()
	select {
	case err := <-wr.done:
		return err
	case <-ctx.Done():
		w.mu.Lock()
		for i, q := range w.queue {
			if q == wr {
				w.queue = append(w.queue[:i], w.queue[i+1:]...)
				break
			}
		}
		w.mu.Unlock()
		return ctx.Err()
	}
}

// flush writes what is queued, one write at a time, until nothing is.
func (w *Writer) flush() {
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		if len(batch) == 0 {
			w.writing = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		var all []kafka.Message
		if len(batch) == 1 {
			all = batch[0].msgs
		} else {
			for _, wr := range batch {
				all = append(all, wr.msgs...)
			}
		}
		w.deliver(batch, all)
	}
}

// deliver writes the batch's messages (all, in batch order) and tells each caller its outcome. A
// failure kafka-go does not attribute to messages is retried caller by caller, so that one caller's
// bad message (an unknown topic, say) never fails the others'.
func (w *Writer) deliver(batch []*write, all []kafka.Message) {
	// No caller's context: the write serves them all.
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	err := w.w.WriteMessages(ctx, all...)
	var perMsg kafka.WriteErrors
	split := err != nil && errors.As(err, &perMsg) && len(perMsg) == len(all)
	if err != nil && !split && len(batch) > 1 {
		for _, wr := range batch {
			wr.done <- w.w.WriteMessages(ctx, wr.msgs...)
		}
		return
	}
	off := 0
	for _, wr := range batch {
		werr := err
		if split {
			werr = nil
			for _, e := range perMsg[off : off+len(wr.msgs)] {
				if e != nil {
					werr = e
					break
				}
			}
		}
		off += len(wr.msgs)
		wr.done <- werr
	}
}

// Close flushes pending writes and closes connections.
func (w *Writer) Close() error { return w.w.Close() }
