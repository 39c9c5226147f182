package platform

import (
	"context"
	"strconv"
	"testing"
	"time"

	segkafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/parley-im/parley/infra/kafka"
)

// The in-process broker drops records older than the retention (it would keep every one in memory
// otherwise), and keeps the newer ones.
func TestBrokerRetentionDropsOldRecords(t *testing.T) {
	const r = 300 * time.Millisecond
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
		kfake.BrokerConfigs(map[string]string{"log.retention.ms": strconv.FormatInt(r.Milliseconds(), 10)}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := applyRetention(c, r)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := c.ListenAddrs()[0]
	if err := kafka.EnsureTopics(ctx, kafka.Cluster{Brokers: []string{addr}}, 1, "t"); err != nil {
		t.Fatal(err)
	}
	conn, err := segkafka.DialLeader(ctx, "tcp", addr, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	write := func(v string) {
		if _, err := conn.WriteMessages(segkafka.Message{Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	write("old-1")
	write("old-2")
	time.Sleep(r + 50*time.Millisecond)
	write("new") // offset 2
	deadline := time.Now().Add(5 * time.Second)
	for {
		first, err := conn.ReadFirstOffset()
		if err != nil {
			t.Fatal(err)
		}
		if first == 2 {
			break
		}
		if first > 2 || time.Now().After(deadline) {
			t.Fatalf("first offset %d, want 2 (the two old records dropped, the new one kept)", first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last, err := conn.ReadLastOffset(); err != nil || last != 3 {
		t.Fatalf("last offset %d, %v; want 3", last, err)
	}
}
