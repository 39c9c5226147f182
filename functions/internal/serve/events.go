package serve

import (
	"context"
	"log/slog"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/google/uuid"

	"github.com/parley-im/parley/events"
)

// EventHandler handles one CloudEvent from a trigger. It returns a reply event (delivered back into
// the broker) or nil. Its error decides redelivery: an *events.Error whose code is not retryable makes
// the event poison (400: dead-lettered at once); anything else is retried (5xx, 429).
type EventHandler func(ctx context.Context, e event.Event) (*event.Event, error)

type correlationKey struct{}

// WithCorrelation returns ctx carrying the correlation id of the command being handled.
func WithCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// Correlation returns the correlation id the facts of this request must carry ("" on the HTTP path).
func Correlation(ctx context.Context) string {
	s, _ := ctx.Value(correlationKey{}).(string)
	return s
}

// Events serves h as a Knative subscriber: binary or structured CloudEvents over HTTP POST.
func Events(ctx context.Context, log *slog.Logger, h EventHandler) (http.Handler, error) {
	p, err := cloudevents.NewHTTP()
	if err != nil {
		return nil, err
	}
	fn := func(ctx context.Context, e event.Event) (*event.Event, protocol.Result) {
		if err := e.Validate(); err != nil {
			return nil, cloudevents.NewHTTPResult(http.StatusBadRequest, "invalid cloudevent: %v", err)
		}
		ctx = WithCorrelation(ctx, events.StringExtension(e, events.ExtCorrelationID))
		reply, err := h(ctx, e)
		if err == nil {
			return reply, nil
		}
		ee := PublicError(err)
		spec := ee.Code.Spec()
		if !spec.Retryable && spec.Status < 500 {
			log.WarnContext(ctx, "poison event", "type", e.Type(), "id", e.ID(), "code", ee.Code, "err", err)
			return nil, cloudevents.NewHTTPResult(http.StatusBadRequest, "%s", ee.Code)
		}
		log.ErrorContext(ctx, "event failed; will be retried", "type", e.Type(), "id", e.ID(), "err", err)
		return nil, cloudevents.NewHTTPResult(spec.Status, "%s", ee.Code)
	}
	return cloudevents.NewHTTPReceiveHandler(ctx, p, fn)
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
