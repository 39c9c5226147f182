// Command parley-hops reads what a load run left on the broker topic and im.delivery and reports
// where a message's time went between the hops the topics can see: the edge building the send
// command, send building the message fact, the fact reaching the broker, fanout's delivery
// reaching the broker. Commands, facts and deliveries are joined by their correlation id.
//
//	parley-hops [-brokers 127.0.0.1:9092] [-topic knative-broker-parley-default]
//
// ce_time is stamped with nanoseconds by the producer; a record's timestamp has milliseconds only,
// so a span ending at a record timestamp reads on average 0.5 ms short (the report says which).
// Run it against a platform that carried one load run: it reads every partition from the start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/parley-im/parley/events"
)

// stamp is when a record's event was built (ce_time) and when its record was appended.
type stamp struct{ built, appended time.Time }

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "Kafka bootstrap address")
	topic := flag.String("topic", events.TopicBroker, "the broker topic (commands and facts)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *brokers, *topic); err != nil {
		fmt.Fprintln(os.Stderr, "parley-hops:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, brokers, topic string) error {
	want := map[string]map[string]stamp{events.TypeMessageSend: {}, events.TypeMessageCreated: {}}
	if err := scan(ctx, brokers, topic, want); err != nil {
		return err
	}
	deliveries := map[string]map[string]stamp{events.TypeDelivery: {}}
	if err := scan(ctx, brokers, events.TopicDelivery, deliveries); err != nil {
		return err
	}
	report(w, want[events.TypeMessageSend], want[events.TypeMessageCreated], deliveries[events.TypeDelivery])
	return nil
}

// scan reads every partition of topic up to its end, keeping the first record per correlation id
// of each type in want.
func scan(ctx context.Context, brokers, topic string, want map[string]map[string]stamp) error {
	conn, err := kafka.DialContext(ctx, "tcp", brokers)
	if err != nil {
		return err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return fmt.Errorf("partitions of %s: %w", topic, err)
	}
	for _, p := range parts {
		pc, err := kafka.DialLeader(ctx, "tcp", brokers, topic, p.ID)
		if err != nil {
			return err
		}
		end, err := pc.ReadLastOffset()
		pc.Close()
		if err != nil {
			return err
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{brokers}, Topic: topic, Partition: p.ID, MaxBytes: 16 << 20,
			MaxWait: 100 * time.Millisecond}) // Close waits for the last prefetch: do not let it long-poll
		for off := int64(0); off < end; {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				return fmt.Errorf("read %s/%d: %w", topic, p.ID, err)
			}
			off = m.Offset + 1
			var typ, corr, built string
			for _, h := range m.Headers {
				switch h.Key {
				case "ce_type":
					typ = string(h.Value)
				case "ce_" + events.ExtCorrelationID:
					corr = string(h.Value)
				case "ce_time":
					built = string(h.Value)
				}
			}
			byCorr, ok := want[typ]
			if !ok || corr == "" {
				continue
			}
			if _, seen := byCorr[corr]; seen {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, built)
			if err != nil {
				continue
			}
			byCorr[corr] = stamp{built: t, appended: m.Time}
		}
		if err := r.Close(); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return nil
}

// report prints the spans of every message found at all three hops.
func report(w io.Writer, cmds, facts, deliveries map[string]stamp) {
	spans := []struct {
		name string
		of   func(c, f, d stamp) time.Duration
	}{
		{"command built -> fact built (edge publish, dispatch, send)", func(c, f, _ stamp) time.Duration { return f.built.Sub(c.built) }},
		{"fact built -> fact appended (commit, relay publish)*", func(_, f, _ stamp) time.Duration { return f.appended.Sub(f.built) }},
		{"fact appended -> delivery appended (dispatch, fanout)", func(_, f, d stamp) time.Duration { return d.appended.Sub(f.appended) }},
		{"command built -> delivery appended (whole server side)*", func(c, _, d stamp) time.Duration { return d.appended.Sub(c.built) }},
	}
	ds := make([][]time.Duration, len(spans))
	for corr, c := range cmds {
		f, ok1 := facts[corr]
		d, ok2 := deliveries[corr]
		if !ok1 || !ok2 {
			continue
		}
		for i, s := range spans {
			ds[i] = append(ds[i], s.of(c, f, d))
		}
	}
	fmt.Fprintf(w, "%d messages seen at every hop (of %d commands)\n", len(ds[0]), len(cmds))
	for i, s := range spans {
		fmt.Fprintf(w, "%-58s %s\n", s.name, summary(ds[i]))
	}
	fmt.Fprintln(w, "* ends at a record timestamp (milliseconds): on average 0.5 ms short")
}

// summary is "mean / p50 / p90 / p99" in milliseconds.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	q := func(p int) time.Duration { return ds[min(len(ds)-1, len(ds)*p/100)] }
	return fmt.Sprintf("mean %.2f  p50 %.2f  p90 %.2f  p99 %.2f ms", ms(sum/time.Duration(len(ds))), ms(q(50)), ms(q(90)), ms(q(99)))
}
