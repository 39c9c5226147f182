package otel

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLogsCarryTraceIDAndMetricsAreExposed(t *testing.T) {
	ctx := context.Background()
	tel, err := Setup(ctx, Config{Service: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(ctx)

	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	sctx, span := tel.Tracer.Tracer("t").Start(ctx, "op")
	if span.IsRecording() || !span.SpanContext().IsValid() {
		t.Fatalf("without an exporter a span must carry ids but record nothing: recording=%v valid=%v",
			span.IsRecording(), span.SpanContext().IsValid())
	}
	log.InfoContext(sctx, "inside")
	span.End()
	log.InfoContext(ctx, "outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], `"trace_id":"`+span.SpanContext().TraceID().String()) {
		t.Fatalf("span line lacks its trace id: %s", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Fatalf("line without span got a trace id: %s", lines[1])
	}

	c, _ := tel.Meter.Meter("t").Int64Counter("parley_test_events")
	c.Add(ctx, 3)
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), "parley_test_events_total") {
		t.Fatalf("counter not exposed:\n%s", body)
	}
	if !strings.Contains(string(body), "\ngo_goroutines ") {
		t.Fatalf("go_goroutines not exposed:\n%s", body)
	}
}
