package kafka_test

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
)

// BenchmarkPublishIdle is the latency of one synchronous publish on a path that is otherwise idle,
// which is what each hop of a message costs at low and moderate rates: the process is asleep
// between publishes, so a batch timer, however short, is rounded up to the runtime's sleep
// granularity (a millisecond) before the batch is sent.
//
//	cd infra && go test ./kafka -run '^$' -bench PublishIdle -benchtime 500x
func BenchmarkPublishIdle(b *testing.B) {
	kc := kafkatest.Start(b)
	topic := kc.Topic(b, 8)
	for _, bt := range []time.Duration{100 * time.Microsecond, 0} {
		b.Run("batch_timeout="+bt.String(), func(b *testing.B) {
			w, err := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers, BatchTimeout: bt})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			ds := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				e := event.New()
				e.SetID(strconv.Itoa(i))
				e.SetType("im.bench.v1")
				e.SetSource("/bench")
				e.SetExtension("partitionkey", "k"+strconv.Itoa(i%64))
				if err := e.SetData(event.ApplicationJSON, map[string]int{"i": i}); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := w.Publish(context.Background(), topic, e); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
				b.StopTimer()
				time.Sleep(2 * time.Millisecond) // idle between publishes
				b.StartTimer()
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(ds[len(ds)*9/10].Microseconds()), "p90-µs")
		})
	}
}
