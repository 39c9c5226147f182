package sweep

import (
	"context"
	"log/slog"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// fakeOutbox hands out batches of the sizes queued in it.
type fakeOutbox struct{ batches []int }

func (f *fakeOutbox) Sweep(context.Context, time.Duration, int) (int, error) {
	if len(f.batches) == 0 {
		return 0, nil
	}
	n := f.batches[0]
	f.batches = f.batches[1:]
	return n, nil
}

func TestSweepCountsRepublishedRows(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ob := &fakeOutbox{batches: []int{3, 3, 1}}
	h := New(Config{Batch: 3}, Deps{Outbox: ob, Log: slog.New(slog.DiscardHandler), Meter: mp.Meter("t")})
	n, err := h.Sweep(context.Background())
	if err != nil || n != 7 {
		t.Fatalf("Sweep = %d, %v; want 7 rows (two full batches and a short one)", n, err)
	}
	if _, err := h.Sweep(context.Background()); err != nil { // nothing left: adds nothing
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var got int64 = -1
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == RepublishedMetric {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					got = dp.Value
				}
			}
		}
	}
	if got != 7 {
		t.Fatalf("%s = %d, want 7", RepublishedMetric, got)
	}
}
