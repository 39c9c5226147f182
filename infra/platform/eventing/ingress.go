package eventing

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.opentelemetry.io/otel/propagation"

	"github.com/parley-im/parley/events"
)

// Ingress is the Kafka Broker receiver: CloudEvents POSTed over HTTP (binary or structured mode)
// are written to the broker topic, keyed by partitionkey, and answered 202 only once stored.
type Ingress struct {
	Topic     string
	Publisher events.Publisher
	Log       *slog.Logger
	// Propagator reads the caller's trace context; default W3C trace context.
	Propagator propagation.TextMapPropagator
	// MaxBody bounds one event; default 1 MiB (Knative's receiver has a similar limit).
	MaxBody int64
	// Timeout bounds storing one event; default 10s.
	Timeout time.Duration
}

// ServeHTTP accepts POST on any path: Knative's broker URL is /<namespace>/<broker>, and "/" is
// convenient locally.
func (in *Ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a CloudEvent", http.StatusMethodNotAllowed)
		return
	}
	maxBody := in.MaxBody
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	prop := in.Propagator
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))

	msg := cehttp.NewMessageFromHttpRequest(r)
	if msg.ReadEncoding() == binding.EncodingUnknown || msg.ReadEncoding() == binding.EncodingBatch {
		http.Error(w, "not a CloudEvent (binary or structured mode expected)", http.StatusBadRequest)
		return
	}
	e, err := binding.ToEvent(ctx, msg)
	if err == nil {
		err = e.Validate()
	}
	if err != nil {
		http.Error(w, "invalid CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := in.Publisher.Publish(sctx, in.Topic, *e); err != nil {
		in.log().Error("broker ingress: store failed", "id", e.ID(), "type", e.Type(), "err", err)
		http.Error(w, "event not stored", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (in *Ingress) log() *slog.Logger {
	if in.Log == nil {
		return slog.Default()
	}
	return in.Log
}
