package serve

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/events"
)

// EventHandler handles one CloudEvent from a trigger. It returns a reply event (delivered back into
// the broker) or nil. Its error decides redelivery: an *events.Error whose code is not retryable makes
// the event poison (400: dead-lettered at once); anything else is retried (5xx, 429).
type EventHandler func(ctx context.Context, e event.Event) (*event.Event, error)

type correlationKey struct{}

type deadlineKey struct{}

// ErrExpired is what a handler returns for a command whose deadline passed while it waited inside
// the function (a group commit's queue): the command is dropped unapplied, as one that arrived late.
var ErrExpired = errors.New("command past its deadline")

// WithCommandDeadline returns ctx carrying the deadline of the command being handled. A value, not
// a context deadline: work already under way for the command (a shared commit) must not be cut off.
func WithCommandDeadline(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, deadlineKey{}, t)
}

// CommandDeadline returns the deadline of the command being handled; false on the HTTP path and for
// commands without one.
func CommandDeadline(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(deadlineKey{}).(time.Time)
	return t, ok
}

// WithCorrelation returns ctx carrying the correlation id of the command being handled.
func WithCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// Correlation returns the correlation id the facts of this request must carry ("" on the HTTP path).
func Correlation(ctx context.Context) string {
	s, _ := ctx.Value(correlationKey{}).(string)
	return s
}

// Events serves h as a Knative subscriber: binary or structured CloudEvents over HTTP POST. Each
// request is decoded, handled and answered on its own goroutine, under its own context.
//
// Not sdk-go's client.NewHTTPReceiveHandler: it hands every request's message to a goroutine over
// one shared unbuffered channel, and a goroutine whose request is cancelled (the trigger's timeout)
// while it waits leaves one message without a taker for good. From then on each request is served
// by the next one's goroutine, so a request that nobody follows (an ordered partition's one in-flight
// event) is never answered: measured, a send partition stuck for minutes after a broker outage, every
// retry of its head command timing out, and the process ignoring SIGTERM on a handler blocked there.
func Events(log *slog.Logger, h EventHandler) (http.Handler, error) {
	m, err := newEventMetrics(otel.GetMeterProvider().Meter("github.com/parley-im/parley/functions/serve"))
	if err != nil {
		return nil, err
	}
	handle := func(ctx context.Context, e event.Event) (reply *event.Event, status int, msg string) {
		if err := e.Validate(); err != nil {
			m.failed(ctx, e.Type(), "poison")
			return nil, http.StatusBadRequest, "invalid cloudevent: " + err.Error()
		}
		corr := events.StringExtension(e, events.ExtCorrelationID)
		expired := func(where string) (*event.Event, int, string) {
			// Its sender was answered "unavailable" at the deadline (or is about to be): applying it now
			// would store what nobody waits for, and a rejection would only add to the backlog. Dropping
			// stale commands at the cost of a header parse is what drains a backlog after an overload.
			m.expired.Add(ctx, 1, metric.WithAttributes(attribute.String("type", e.Type()), attribute.String("where", where)))
			log.WarnContext(ctx, "command past its deadline dropped", "type", e.Type(), "id", e.ID(),
				"correlationid", corr, "deadline", events.StringExtension(e, events.ExtDeadline), "where", where)
			return nil, http.StatusOK, ""
		}
		deadline, hasDeadline := events.Deadline(e)
		if hasDeadline && time.Now().After(deadline) {
			return expired("arrival")
		}
		ctx = WithCorrelation(ctx, corr)
		if hasDeadline {
			ctx = WithCommandDeadline(ctx, deadline)
		}
		reply, err := h(ctx, e)
		if errors.Is(err, ErrExpired) {
			return expired("queue")
		}
		if err == nil {
			if reply != nil && reply.Type() == events.TypeCommandRejected {
				m.rejected(ctx, log, e, corr, reply)
			}
			return reply, http.StatusOK, ""
		}
		ee := PublicError(err)
		spec := ee.Code.Spec()
		if !spec.Retryable && spec.Status < 500 {
			m.failed(ctx, e.Type(), "poison")
			log.WarnContext(ctx, "poison event", "type", e.Type(), "id", e.ID(), "correlationid", corr, "code", ee.Code, "err", err)
			return nil, http.StatusBadRequest, string(ee.Code)
		}
		m.failed(ctx, e.Type(), "retry")
		log.ErrorContext(ctx, "event failed; will be retried", "type", e.Type(), "id", e.ID(), "correlationid", corr, "err", err)
		return nil, spec.Status, string(ee.Code)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ctx := r.Context()
		in := cehttp.NewMessageFromHttpRequest(r)
		defer func() { _ = in.Finish(nil) }()
		e, err := binding.ToEvent(ctx, in)
		if err != nil {
			m.failed(ctx, "", "poison")
			status := http.StatusBadRequest
			if errors.Is(err, binding.ErrUnknownEncoding) {
				status = http.StatusUnsupportedMediaType
			}
			http.Error(w, "not a cloudevent: "+err.Error(), status)
			return
		}
		reply, status, msg := handle(ctx, *e)
		if reply == nil {
			if msg == "" {
				w.WriteHeader(status)
				return
			}
			http.Error(w, msg, status)
			return
		}
		if err := cehttp.WriteResponseWriter(ctx, binding.ToMessage(reply), status, w); err != nil {
			log.ErrorContext(ctx, "reply not written", "type", reply.Type(), "id", reply.ID(), "err", err)
		}
	}), nil
}

// Rejection builds the im.command.rejected reply to cmd for userID. Business refusals on the broker
// path are replies, not errors: redelivering them cannot help, and the sender must hear why.
func Rejection(source string, cmd event.Event, userID string, err error) (*event.Event, error) {
	ee := PublicError(err)
	corr := events.StringExtension(cmd, events.ExtCorrelationID)
	r, nerr := events.New(uuid.Must(uuid.NewV7()).String(), source, events.TypeCommandRejected, userID,
		events.CommandRejected{CorrelationID: corr, UserID: userID, Code: ee.Code, Message: ee.Message})
	if nerr != nil {
		return nil, nerr
	}
	if corr != "" {
		r.SetExtension(events.ExtCorrelationID, corr)
	}
	return &r, nil
}

// eventMetrics count what the broker path refuses or fails, so a scrape during an overload says why.
type eventMetrics struct {
	rejections metric.Int64Counter // parley_command_rejections_total{type, code}
	failures   metric.Int64Counter // parley_event_failures_total{type, outcome=retry|poison}
	expired    metric.Int64Counter // parley_commands_expired_total{type,where}
}

func newEventMetrics(meter metric.Meter) (*eventMetrics, error) {
	r, err := meter.Int64Counter("parley_command_rejections",
		metric.WithDescription("commands answered with im.command.rejected, by command type and error code"))
	if err != nil {
		return nil, err
	}
	f, err := meter.Int64Counter("parley_event_failures",
		metric.WithDescription("events a function failed: retried by the trigger (retry) or dead-lettered (poison)"))
	if err != nil {
		return nil, err
	}
	x, err := meter.Int64Counter("parley_commands_expired",
		metric.WithDescription("commands that reached their function after their deadline: dropped, not applied"))
	if err != nil {
		return nil, err
	}
	return &eventMetrics{rejections: r, failures: f, expired: x}, nil
}

func (m *eventMetrics) failed(ctx context.Context, typ, outcome string) {
	m.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("type", typ), attribute.String("outcome", outcome)))
}

// rejected counts a rejection; one for lack of capacity (unavailable) is also a WARN: the sender was
// refused for a reason of ours, not of its own.
func (m *eventMetrics) rejected(ctx context.Context, log *slog.Logger, cmd event.Event, corr string, reply *event.Event) {
	var r events.CommandRejected
	if err := json.Unmarshal(reply.Data(), &r); err != nil {
		log.ErrorContext(ctx, "undecodable rejection", "id", reply.ID(), "err", err)
		return
	}
	m.rejections.Add(ctx, 1, metric.WithAttributes(attribute.String("type", cmd.Type()), attribute.String("code", string(r.Code))))
	if r.Code.Spec().Status >= 500 {
		log.WarnContext(ctx, "command refused", "type", cmd.Type(), "id", cmd.ID(), "correlationid", corr,
			"code", r.Code, "reason", r.Message)
	}
}
