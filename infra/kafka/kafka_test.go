package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/polltest"
)

func newEvent(t *testing.T, id, key string, n int) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/parley/test")
	e.SetType("im.test.v1")
	e.SetSubject(key)
	e.SetExtension(events.ExtPartitionKey, key)
	if err := e.SetData(event.ApplicationJSON, map[string]int{"n": n}); err != nil {
		t.Fatal(err)
	}
	return e
}

// consumed is what consume has read so far: the events of each partition key in the order read.
type consumed struct {
	mu    sync.Mutex
	byKey map[string][]consumedEvent
	total int
}

// consumedEvent is an event and the partition it was read from.
type consumedEvent struct {
	event.Event
	partition int
}

// consume reads topic as group until the test ends. A record that is not a CloudEvent fails its
// handler, so it is retried, never counted.
func consume(t *testing.T, kc *kafkatest.Cluster, topic, group string) *consumed {
	t.Helper()
	c := &consumed{byKey: map[string][]consumedEvent{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kafka.Consume(ctx, kafka.ConsumerConfig{Brokers: kc.Brokers, Topics: []string{topic}, GroupID: group},
			func(_ context.Context, m kafka.Message) error {
				e, err := m.Event()
				if err != nil {
					return err
				}
				c.mu.Lock()
				defer c.mu.Unlock()
				k := events.PartitionKey(e)
				c.byKey[k] = append(c.byKey[k], consumedEvent{Event: e, partition: m.Partition})
				c.total++
				return nil
			})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// count is how many events have been read.
func (c *consumed) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.total }

// key returns the events read with partition key k, in the order read.
func (c *consumed) key(k string) []consumedEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]consumedEvent(nil), c.byKey[k]...)
}

func TestPublishConsumeRoundTripWithTrace(t *testing.T) {
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 4)
	w, err := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled})
	pctx := trace.ContextWithRemoteSpanContext(context.Background(), sc)

	in := newEvent(t, "id-1", "conv-1", 1)
	if err := w.Publish(pctx, topic, in); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan kafka.Message, 1)
	gotCtx := make(chan context.Context, 1)
	go func() {
		_ = kafka.Consume(ctx, kafka.ConsumerConfig{Brokers: kc.Brokers, Topics: []string{topic}, GroupID: "g-" + topic},
			func(ctx context.Context, m kafka.Message) error {
				got <- m
				gotCtx <- ctx
				return nil
			})
	}()
	var m kafka.Message
	select {
	case m = <-got:
	case <-time.After(15 * time.Second):
		t.Fatal("no message consumed")
	}
	if string(m.Record.Key) != "conv-1" {
		t.Errorf("key = %q, want partitionkey conv-1", m.Record.Key)
	}
	out, err := m.Event()
	if err != nil {
		t.Fatal(err)
	}
	if out.ID() != in.ID() || out.Type() != in.Type() || string(out.Data()) != string(in.Data()) ||
		events.PartitionKey(out) != "conv-1" {
		t.Errorf("event changed in transit:\n in %v\nout %v", in, out)
	}
	hctx := <-gotCtx
	if got := trace.SpanContextFromContext(hctx); got.TraceID() != traceID || got.SpanID() != spanID {
		t.Errorf("trace context not carried: got %v want trace %v span %v", got, traceID, spanID)
	}
}

func TestConsumeKeepsPerKeyOrderAcrossParallelPartitions(t *testing.T) {
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 4)
	w, _ := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	defer w.Close()
	const keys, perKey = 8, 25
	var evs []event.Event
	for i := range perKey {
		for k := range keys {
			evs = append(evs, newEvent(t, fmt.Sprintf("%d-%d", k, i), fmt.Sprintf("key-%d", k), i))
		}
	}
	if err := w.Publish(context.Background(), topic, evs...); err != nil {
		t.Fatal(err)
	}
	got := consume(t, kc, topic, "g")
	polltest.Until(t, 15*time.Second, "all records", func() bool { return got.count() == keys*perKey })
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		seen := got.key(key)
		for i, e := range seen {
			if p := seen[0].partition; e.partition != p {
				t.Errorf("key %s on partitions %d and %d", key, p, e.partition)
			}
			if want := fmt.Sprintf("%d-%d", k, i); e.ID() != want {
				t.Fatalf("key %s position %d: got %s want %s (order broken)", key, i, e.ID(), want)
			}
		}
	}
}

// A record is committed only after its handler succeeded: a failing record is retried, not
// skipped, and a new consumer of the group resumes after the last committed record.
func TestConsumeCommitsOnlyAfterSuccess(t *testing.T) {
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 1)
	w, _ := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	defer w.Close()
	for i := range 3 {
		if err := w.Publish(context.Background(), topic, newEvent(t, fmt.Sprint(i), "k", i)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := kafka.ConsumerConfig{Brokers: kc.Brokers, Topics: []string{topic}, GroupID: "g"}

	// First consumer: succeeds on 0, fails on 1 twice, then succeeds, then blocks on 2 forever.
	var mu sync.Mutex
	var calls []string
	fails := 0
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan struct{})
	go func() {
		defer close(done1)
		_ = kafka.Consume(ctx1, cfg, func(ctx context.Context, m kafka.Message) error {
			e, _ := m.Event()
			mu.Lock()
			calls = append(calls, e.ID())
			mu.Unlock()
			switch e.ID() {
			case "1":
				mu.Lock()
				defer mu.Unlock()
				if fails < 2 {
					fails++
					return fmt.Errorf("transient")
				}
			case "2":
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})
	}()
	polltest.Until(t, 15*time.Second, "record 2 reached", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) > 0 && calls[len(calls)-1] == "2"
	})
	mu.Lock()
	if want := "0 1 1 1 2"; fmt.Sprint(calls) != "["+want+"]" {
		t.Errorf("calls = %v, want [%s]", calls, want)
	}
	mu.Unlock()
	cancel1()
	<-done1

	// Second consumer of the same group: 0 and 1 were committed; 2 was not.
	got := make(chan string, 10)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() {
		_ = kafka.Consume(ctx2, cfg, func(_ context.Context, m kafka.Message) error {
			e, _ := m.Event()
			got <- e.ID()
			return nil
		})
	}()
	select {
	case id := <-got:
		if id != "2" {
			t.Fatalf("resumed at %s, want 2 (first uncommitted)", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("second consumer got nothing")
	}
}

func TestEnsureTopicsIsIdempotent(t *testing.T) {
	kc := kafkatest.Start(t)
	ctx := context.Background()
	for range 2 {
		if err := kafka.EnsureTopics(ctx, kc.Kafka(), 3, "a.topic", "a.topic.dlq"); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := kafka.Partitions(ctx, kc.Kafka(), "a.topic.dlq")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("partitions = %v, want 3", ps)
	}
}

func TestWriterRefusesUnknownTopic(t *testing.T) {
	kc := kafkatest.Start(t)
	w, _ := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Publish(ctx, "never.created", newEvent(t, "x", "k", 0)); err == nil {
		t.Fatal("publish to a missing topic succeeded; auto topic creation must be off")
	}
}

func TestUngroupedConsumerReadsEveryPartitionFromLatest(t *testing.T) {
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 3)
	w, _ := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	defer w.Close()
	if err := w.Publish(context.Background(), topic, newEvent(t, "old", "k", 0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	got := map[string]bool{}
	started := make(chan struct{})
	var once sync.Once
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{Brokers: kc.Brokers, Topics: []string{topic}, StartOffset: kafka.LastOffset})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.Run(ctx, func(ctx context.Context, cl *kafka.Claim) error {
			once.Do(func() { close(started) })
			for {
				m, err := cl.Fetch(ctx)
				if err != nil {
					return nil
				}
				e, _ := m.Event()
				mu.Lock()
				got[e.ID()] = true
				mu.Unlock()
			}
		})
	}()
	<-started
	// LastOffset is resolved when a reader starts; publish until every key shows up.
	keys := []string{"a", "b", "c", "d", "e", "f"}
	polltest.Until(t, 15*time.Second, "new records on every partition", func() bool {
		for _, k := range keys {
			_ = w.Publish(context.Background(), topic, newEvent(t, "new-"+k, k, 1))
		}
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			if !got["new-"+k] {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	if got["old"] {
		t.Error("ungrouped LastOffset consumer read a record from before it started")
	}
}
