// Package kafkatest starts an in-process Kafka-protocol broker (twmb/franz-go kfake) for tests, and
// hands out unique topics so tests never see each other's records.
package kafkatest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/parley-im/parley/infra/kafka"
)

// Cluster is a running kfake broker.
type Cluster struct {
	Brokers []string
	// Security is what clients need to reach it (set it when starting with SASL or TLS options).
	Security kafka.Security
	c        *kfake.Cluster
	seq      atomic.Int64
}

// Start runs a one-broker kfake cluster on a random loopback port, closed when the test ends.
// opts add kfake options (kfake.EnableSASL, kfake.Superuser, kfake.TLS); a caller that adds SASL
// or TLS sets Security before creating topics.
func Start(tb testing.TB, opts ...kfake.Opt) *Cluster {
	tb.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0)}, opts...)...)
	if err != nil {
		tb.Fatalf("kfake: %v", err)
	}
	tb.Cleanup(c.Close)
	return &Cluster{Brokers: c.ListenAddrs(), c: c}
}

// Kafka is the admin view of the cluster (brokers + security).
func (c *Cluster) Kafka() kafka.Cluster {
	return kafka.Cluster{Brokers: c.Brokers, Security: c.Security}
}

// Topic creates a topic unique to this test (name derived from the test name) and returns it.
func (c *Cluster) Topic(tb testing.TB, partitions int) string {
	tb.Helper()
	name := fmt.Sprintf("t.%s.%d", sanitize(tb.Name()), c.seq.Add(1))
	c.CreateTopics(tb, partitions, name)
	return name
}

// CreateTopics creates the named topics.
func (c *Cluster) CreateTopics(tb testing.TB, partitions int, topics ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, c.Kafka(), partitions, topics...); err != nil {
		tb.Fatalf("create topics: %v", err)
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
