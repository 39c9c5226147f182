package kafka

import (
	"context"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/parley-im/parley/events"
)

// toMessage is the one place an events.Record becomes a kafka.Message.
func toMessage(topic string, r events.Record) kafka.Message {
	hs := make([]kafka.Header, 0, len(r.Headers))
	for _, h := range r.Headers {
		hs = append(hs, kafka.Header{Key: h.Key, Value: h.Value})
	}
	return kafka.Message{Topic: topic, Key: r.Key, Value: r.Value, Headers: hs}
}

// toRecord is the one place a kafka.Message becomes an events.Record.
func toRecord(m kafka.Message) events.Record {
	r := events.Record{Key: m.Key, Value: m.Value}
	if len(m.Headers) > 0 {
		r.Headers = make([]events.Header, 0, len(m.Headers))
		for _, h := range m.Headers {
			r.Headers = append(r.Headers, events.Header{Key: h.Key, Value: h.Value})
		}
	}
	return r
}

// HeaderCarrier adapts Kafka record headers to an OpenTelemetry TextMapCarrier, so the W3C
// traceparent/tracestate of the producing span travel with the record (header names are not
// prefixed: they are the Kafka convention, distinct from the CloudEvents ce_traceparent extension).
type HeaderCarrier struct{ Headers *[]events.Header }

var _ propagation.TextMapCarrier = HeaderCarrier{}

// Get returns the value of the first header named key.
func (c HeaderCarrier) Get(key string) string {
	for _, h := range *c.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces the header named key, or appends it.
func (c HeaderCarrier) Set(key, value string) {
	for i, h := range *c.Headers {
		if h.Key == key {
			(*c.Headers)[i].Value = []byte(value)
			return
		}
	}
	*c.Headers = append(*c.Headers, events.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	ks := make([]string, 0, len(*c.Headers))
	for _, h := range *c.Headers {
		ks = append(ks, h.Key)
	}
	return ks
}

// defaultPropagator is W3C trace context: what Knative forwards over HTTP and what our HTTP
// middleware reads. Callers can pass another (e.g. the process-wide composite) in the configs.
func defaultPropagator(p propagation.TextMapPropagator) propagation.TextMapPropagator {
	if p != nil {
		return p
	}
	return propagation.TraceContext{}
}

// InjectTrace writes the trace context of ctx into r's headers.
func InjectTrace(ctx context.Context, p propagation.TextMapPropagator, r *events.Record) {
	defaultPropagator(p).Inject(ctx, HeaderCarrier{Headers: &r.Headers})
}

// ExtractTrace returns ctx with the remote span context found in r's headers (ctx unchanged when none).
func ExtractTrace(ctx context.Context, p propagation.TextMapPropagator, r events.Record) context.Context {
	hs := r.Headers
	return defaultPropagator(p).Extract(ctx, HeaderCarrier{Headers: &hs})
}
