package kafka_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/polltest"
)

// Concurrent publishes share writes: every caller is answered, every record lands exactly once with
// its own key, payload and headers, and each caller's records keep their order within a key.
func TestConcurrentPublishesShareWritesAndStayIntact(t *testing.T) {
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 4)
	w, err := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const callers, each = 40, 10
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Two events per publish, one caller's key each: order per key is the caller's order.
				evs := []event.Event{newEvent(t, fmt.Sprintf("c%d-%d-a", c, i), fmt.Sprintf("key-%d", c), 2*i),
					newEvent(t, fmt.Sprintf("c%d-%d-b", c, i), fmt.Sprintf("key-%d", c), 2*i+1)}
				if err := w.Publish(context.Background(), topic, evs...); err != nil {
					errs <- fmt.Errorf("caller %d publish %d: %w", c, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	read := consume(t, kc, topic, "check")
	polltest.Until(t, 20*time.Second, "every record", func() bool { return read.count() >= callers*each*2 })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	if total := read.count(); total != callers*each*2 {
		t.Fatalf("%d records, want %d (each exactly once)", total, callers*each*2)
	}
	for c := range callers {
		got := read.key(fmt.Sprintf("key-%d", c))
		if len(got) != 2*each {
			t.Fatalf("key-%d: %d records, want %d", c, len(got), 2*each)
		}
		for j, e := range got {
			half := "a"
			if j%2 == 1 {
				half = "b"
			}
			if want := fmt.Sprintf("c%d-%d-%s", c, j/2, half); e.ID() != want {
				t.Fatalf("key-%d position %d: id %s, want %s (order or routing broken)", c, j, e.ID(), want)
			}
			var data map[string]int
			if err := e.DataAs(&data); err != nil || data["n"] != j {
				t.Fatalf("key-%d position %d: data %v (%v), want n=%d: another caller's payload", c, j, data, err, j)
			}
		}
	}
	if n := kafka.WritesOf(w); n >= callers*each {
		t.Fatalf("%d writes for %d publishes: concurrent publishes were not batched", n, callers*each)
	}
}

// A publish that fails on its own (an unknown topic) fails only its caller, not the others written
// in the same batch.
func TestOneCallersFailureStaysItsOwn(t *testing.T) {
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 2)
	w, err := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers, WriteTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := topic
			if i%5 == 0 {
				to = "never.created"
			}
			results[i] = w.Publish(context.Background(), to, newEvent(t, fmt.Sprintf("e%d", i), "k", i))
		}()
	}
	wg.Wait()
	for i, err := range results {
		if bad := i%5 == 0; bad != (err != nil) {
			t.Errorf("publish %d (to the missing topic: %v) returned %v", i, bad, err)
		}
	}
}

// A caller that stops waiting returns at its context's end, even while the write it shares retries
// (here: a broker that accepts connections and never answers).
func TestPublishReturnsAtItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	w, err := kafka.NewWriter(kafka.Config{Brokers: []string{ln.Addr().String()}, WriteTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = w.Publish(ctx, "any", newEvent(t, "x", "k", 0))
	if err == nil {
		t.Fatal("publish without a broker succeeded")
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("publish returned after %v; want at its 300ms deadline", waited)
	}
}
