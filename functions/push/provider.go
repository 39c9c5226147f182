package push

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-im/parley/events"
)

// Notification is one push to one device: the payload every platform carries (events.PushMessage)
// and what the platforms' headers need.
type Notification struct {
	Message events.PushMessage
	// Urgent: the recipient is mentioned (Web Push Urgency high, APNs priority 10, FCM priority high).
	Urgent bool
	// TTL is how long the push service keeps an undelivered push (Web Push TTL, APNs expiration).
	TTL time.Duration
}

// Provider sends one notification to one device of its platform. Send's error tells the caller
// what to do: ErrGone (wrapped) deletes the device; a *RetryError is retried with backoff; anything
// else is final for this push (logged and counted). Send must be safe for concurrent use.
type Provider interface {
	Send(ctx context.Context, d Device, n Notification) error
}

// ErrGone: the push service says the device's token or subscription is invalid or expired
// (404/410, FCM UNREGISTERED, APNs Unregistered/BadDeviceToken). The device is deleted.
var ErrGone = errors.New("push: device gone")

// RetryError is a transient refusal (429, 5xx, a network error): try again after After (the
// service's Retry-After, 0 when it gave none).
type RetryError struct {
	Status int
	After  time.Duration
	Err    error
}

func (e *RetryError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("push: transient failure (status %d): %v", e.Status, e.Err)
	}
	return fmt.Sprintf("push: transient failure (status %d)", e.Status)
}

func (e *RetryError) Unwrap() error { return e.Err }

// statusError classifies a push service's HTTP answer the way every platform's docs describe it:
// 2xx sent; 404/410 gone; 429 and 5xx retried after Retry-After; anything else final.
func statusError(resp *http.Response, detail string, now time.Time) error {
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return nil
	case s == http.StatusNotFound || s == http.StatusGone:
		return fmt.Errorf("%w: status %d %s", ErrGone, s, detail)
	case s == http.StatusTooManyRequests || s >= 500:
		return &RetryError{Status: s, After: retryAfter(resp.Header.Get("Retry-After"), now), Err: errors.New(detail)}
	default:
		return fmt.Errorf("push: refused: status %d %s", s, detail)
	}
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 10.2.3).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Retry bounds the sending of one push: Attempts tries in all, waiting Backoff, 2xBackoff... or the
// service's Retry-After when longer; a Retry-After over MaxWait is not waited for here (the
// trigger's own retry brings the event back later).
type Retry struct {
	Attempts int           // default 3
	Backoff  time.Duration // default 500ms
	MaxWait  time.Duration // default 10s
}

func (r *Retry) setDefaults() {
	if r.Attempts <= 0 {
		r.Attempts = 3
	}
	if r.Backoff <= 0 {
		r.Backoff = 500 * time.Millisecond
	}
	if r.MaxWait <= 0 {
		r.MaxWait = 10 * time.Second
	}
}

// send calls p with retries; it returns the last error.
func (r Retry) send(ctx context.Context, p Provider, d Device, n Notification) error {
	wait := r.Backoff
	for attempt := 1; ; attempt++ {
		err := p.Send(ctx, d, n)
		var re *RetryError
		if err == nil || !errors.As(err, &re) || attempt >= r.Attempts {
			return err
		}
		delay := max(wait, re.After)
		if delay > r.MaxWait {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}
