package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/polltest"
)

// Groups sharing tails each get every record once, in per-key order, whether they keep up (served
// from the shared window) or fall behind it (their own reader, then back to the window); one group
// stalled does not hold back the others.
func TestTailsServeEveryGroupEveryRecordInOrder(t *testing.T) {
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 2)
	w, _ := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	defer w.Close()
	const keys = 4
	n := 0
	publish := func(count int) {
		t.Helper()
		var evs []event.Event
		for range count {
			k := n % keys
			evs = append(evs, newEvent(t, fmt.Sprintf("e%d", n), fmt.Sprintf("key-%d", k), n))
			n++
		}
		if err := w.Publish(context.Background(), topic, evs...); err != nil {
			t.Fatal(err)
		}
	}
	publish(40) // before any consumer: fresh groups start from FirstOffset

	tails := kafka.NewTails(kafka.TailsConfig{Brokers: kc.Brokers, Window: 16})
	defer tails.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[string]map[string][]string{} // group -> key -> ids
	gate := make(chan struct{})              // the slow group waits here after its first record
	var wg sync.WaitGroup
	for _, g := range []string{"fast-a", "fast-b", "slow"} {
		seen[g] = map[string][]string{}
		wg.Go(func() {
			_ = kafka.Consume(ctx, kafka.ConsumerConfig{Brokers: kc.Brokers, Topics: []string{topic}, GroupID: g, Tails: tails},
				func(ctx context.Context, m kafka.Message) error {
					e, err := m.Event()
					if err != nil {
						return err
					}
					mu.Lock()
					k := events.PartitionKey(e)
					seen[g][k] = append(seen[g][k], e.ID())
					mu.Unlock()
					if g == "slow" {
						select {
						case <-gate:
						case <-ctx.Done():
						}
					}
					return nil
				})
		})
	}
	count := func(g string) int {
		mu.Lock()
		defer mu.Unlock()
		c := 0
		for _, ids := range seen[g] {
			c += len(ids)
		}
		return c
	}
	polltest.Until(t, 20*time.Second, "fast groups read the backlog", func() bool { return count("fast-a") == 40 && count("fast-b") == 40 })
	// Live traffic in rounds, while the slow group stays stalled on its first records: the fast
	// groups keep up from the shared window, and the slow one falls far behind it.
	for round := range 10 {
		publish(20)
		want := 40 + 20*(round+1)
		polltest.Until(t, 20*time.Second, "fast groups keep up", func() bool { return count("fast-a") == want && count("fast-b") == want })
	}
	if c := count("slow"); c > 2 {
		t.Fatalf("slow group read %d records while stalled, want at most one per partition", c)
	}
	close(gate)
	polltest.Until(t, 30*time.Second, "slow group catches up", func() bool { return count("slow") == n })
	publish(20) // after catching up, the slow group is served from the window again
	polltest.Until(t, 20*time.Second, "every group reads the last round", func() bool {
		return count("fast-a") == n && count("fast-b") == n && count("slow") == n
	})

	mu.Lock()
	defer mu.Unlock()
	for g, byKey := range seen {
		for k := range keys {
			key := fmt.Sprintf("key-%d", k)
			ids := byKey[key]
			if len(ids) != n/keys {
				t.Fatalf("group %s key %s: %d records, want %d", g, key, len(ids), n/keys)
			}
			for i, id := range ids {
				if want := fmt.Sprintf("e%d", i*keys+k); id != want {
					t.Fatalf("group %s key %s position %d: got %s want %s", g, key, i, id, want)
				}
			}
		}
	}
	shared, own := tails.Served()
	// Every record reached each of the 3 groups once. The fast groups, backlog included (a group
	// without offsets resolves its start and joins the window at once), read only from the shared
	// windows; the slow group, stalled far beyond the 16-record window, caught up on its own reader.
	if shared+own != 3*int64(n) {
		t.Fatalf("served %d shared + %d own, want %d in all", shared, own, 3*n)
	}
	if shared < 2*int64(n) || own < int64(n)-80 {
		t.Fatalf("served %d shared, %d own: want the fast groups' %d records shared and most of the slow group's on its own reader",
			shared, own, 2*n)
	}
}
