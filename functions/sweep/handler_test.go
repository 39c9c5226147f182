package sweep

import (
	"context"
	"log/slog"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// fakeOutbox hands out batches of the sizes queued in it, and prunes batches likewise.
type fakeOutbox struct{ batches, prunes []int }

func (f *fakeOutbox) Prune(_ context.Context, retention time.Duration, limit int) (int, error) {
	if retention != time.Hour || limit != 2 || len(f.prunes) == 0 {
		return 0, nil
	}
	n := f.prunes[0]
	f.prunes = f.prunes[1:]
	return n, nil
}

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
	ob := &fakeOutbox{batches: []int{3, 3, 1}, prunes: []int{2, 2, 1, 2}}
	h := New(Config{Batch: 3, PruneBatch: 2}, Deps{Outbox: ob, Log: slog.New(slog.DiscardHandler), Meter: mp.Meter("t")})
	n, err := h.Sweep(context.Background())
	if err != nil || n != 7 {
		t.Fatalf("Sweep = %d, %v; want 7 rows (two full batches and a short one)", n, err)
	}
	// Pruning (default retention 1h) ran batches until a short one: 2, 2, 1; the last 2 is left.
	if len(ob.prunes) != 1 {
		t.Fatalf("prune batches left %v, want [2]", ob.prunes)
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
