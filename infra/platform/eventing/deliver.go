package eventing

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.opentelemetry.io/otel/propagation"

	"github.com/parley-im/parley/events"
)

// Delivery is Knative's DeliverySpec, parsed.
type Delivery struct {
	// Retry is how many times a retryable failure is retried before dead-lettering.
	Retry int
	// Linear backoff is BackoffDelay*n before retry n; exponential (the default) BackoffDelay*2^(n-1).
	Linear       bool
	BackoffDelay time.Duration
	// Timeout bounds one attempt (connect, response and body).
	Timeout time.Duration
	// DeadLetterTopic receives events that failed for good; "" drops them (logged), as Knative does
	// without a deadLetterSink.
	DeadLetterTopic string
}

// backoff is the pause before retry n (n >= 1).
func (d Delivery) backoff(n int) time.Duration {
	if d.Linear {
		return d.BackoffDelay * time.Duration(n)
	}
	return d.BackoffDelay << min(n-1, 20)
}

// maxErrorData is how much of a failing response body a dead letter keeps.
const maxErrorData = 1024

// attempt is the outcome of one POST.
type attempt struct {
	status int // 0 when no response arrived
	body   []byte
	reply  *event.Event
	err    error
}

// retryable is Knative's rule: 5xx, 404, 408, 409, 429 and transport failures are worth retrying;
// any other non-2xx status means the event itself is refused.
func (a attempt) retryable() bool {
	if a.err != nil {
		return true
	}
	switch {
	case a.status >= 500, a.status == http.StatusNotFound, a.status == http.StatusRequestTimeout,
		a.status == http.StatusConflict, a.status == http.StatusTooManyRequests:
		return true
	}
	return false
}

func (a attempt) ok() bool { return a.err == nil && a.status >= 200 && a.status < 300 }

func (a attempt) String() string {
	if a.err != nil {
		return a.err.Error()
	}
	return "HTTP " + strconv.Itoa(a.status)
}

// sender POSTs events in binary mode.
type sender struct {
	client     *http.Client
	prop       propagation.TextMapPropagator
	wantsReply bool
}

// maxResponse bounds how much of a subscriber's answer is read.
const maxResponse = 4 << 20

// post sends e to url once, within timeout, and reads the answer (and a reply event in it).
func (s sender) post(ctx context.Context, url string, e event.Event, timeout time.Duration) attempt {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, url, nil)
	if err != nil {
		return attempt{err: err}
	}
	// Binary mode, as Knative's dispatchers send: ce-* headers, Content-Type = datacontenttype, body = data.
	if err := cehttp.WriteRequest(binding.WithForceBinary(actx), binding.ToMessage(&e), req); err != nil {
		return attempt{err: fmt.Errorf("encode event: %w", err)}
	}
	if s.wantsReply {
		req.Header.Set("Prefer", "reply")
	}
	s.prop.Inject(actx, propagation.HeaderCarrier(req.Header))
	resp, err := s.client.Do(req)
	if err != nil {
		return attempt{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return attempt{status: resp.StatusCode, err: fmt.Errorf("read response: %w", err)}
	}
	a := attempt{status: resp.StatusCode, body: body}
	if a.ok() {
		msg := cehttp.NewMessage(resp.Header, io.NopCloser(bytes.NewReader(body)))
		if msg.ReadEncoding() != binding.EncodingUnknown {
			r, err := binding.ToEvent(actx, msg)
			if err == nil {
				err = r.Validate()
			}
			if err != nil {
				// Knative drops a response that is not a valid event; so do we (the event was delivered).
				a.err = nil
				return a
			}
			a.reply = r
		}
	}
	return a
}

// deadLetter returns e with Knative's error extensions for the final attempt a.
func deadLetter(e event.Event, dest string, a attempt) event.Event {
	dl := e.Clone()
	dl.SetExtension(events.ExtErrorDest, dest)
	if a.status != 0 {
		dl.SetExtension(events.ExtErrorCode, strconv.Itoa(a.status))
	}
	if len(a.body) > 0 {
		dl.SetExtension(events.ExtErrorData, base64.StdEncoding.EncodeToString(a.body[:min(len(a.body), maxErrorData)]))
	}
	return dl
}
