package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// dial connects to the first broker that answers.
func dial(ctx context.Context, cl Cluster, brokers []string) (*kafka.Conn, error) {
	if len(brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	d := cl.Security.dialer()
	var errs []error
	for _, b := range brokers {
		c, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			if d, ok := ctx.Deadline(); ok {
				_ = c.SetDeadline(d)
			} else {
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			}
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("kafka dial %v: %w", brokers, errors.Join(errs...))
}

// EnsureTopics creates topics with the given partition count on the controller; topics that already
// exist are left as they are. The replication factor is min(3, brokers in the cluster).
func EnsureTopics(ctx context.Context, cl Cluster, partitions int, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	if partitions <= 0 {
		return fmt.Errorf("ensure topics: partitions must be > 0, got %d", partitions)
	}
	c, err := dial(ctx, cl, cl.Brokers)
	if err != nil {
		return err
	}
	defer c.Close()
	ctrl, err := c.Controller()
	if err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	bs, err := c.Brokers()
	if err != nil {
		return fmt.Errorf("kafka brokers: %w", err)
	}
	rf := min(3, max(1, len(bs)))
	cc, err := dial(ctx, cl, []string{net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port))})
	if err != nil {
		return err
	}
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, 0, len(topics))
	for _, t := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: rf})
	}
	// kafka-go's CreateTopics already skips TopicAlreadyExists.
	if err := cc.CreateTopics(cfgs...); err != nil {
		return fmt.Errorf("create topics %v: %w", topics, err)
	}
	return nil
}

// Partitions returns the sorted partition ids of topic.
func Partitions(ctx context.Context, cl Cluster, topic string) ([]int, error) {
	c, err := dial(ctx, cl, cl.Brokers)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ps, err := c.ReadPartitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	ids := make([]int, 0, len(ps))
	for _, p := range ps {
		if p.Topic == topic {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("partitions of %s: %w", topic, kafka.UnknownTopicOrPartition)
	}
	sort.Ints(ids)
	return ids, nil
}
