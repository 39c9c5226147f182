// Package resilience builds the failsafe-go policies Parley puts around its remote dependencies
// (Keto, S3, HTTP sinks) and in front of its own handlers, so every caller gets the same, reviewed
// defaults instead of hand-tuning breakers in each package.
package resilience

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/parley-im/parley/events"
)

// BreakerConfig tunes a circuit breaker. Zero values take the documented defaults.
type BreakerConfig struct {
	// Failures out of Window recent calls open the breaker; defaults 5 of 10.
	Failures uint
	Window   uint
	// Delay is how long an open breaker refuses calls before it lets a trial through; default 5s.
	Delay time.Duration
	// Successes in half-open state close it again; default 2.
	Successes uint
}

func (c *BreakerConfig) setDefaults() {
	if c.Window == 0 {
		c.Window = 10
	}
	if c.Failures == 0 {
		c.Failures = 5
	}
	if c.Failures > c.Window {
		c.Failures = c.Window
	}
	if c.Delay == 0 {
		c.Delay = 5 * time.Second
	}
	if c.Successes == 0 {
		c.Successes = 2
	}
}

// Breaker builds a circuit breaker named name (for logs) that counts as failures only the errors
// isFailure accepts (nil: every error). Callers pass a classifier so a definitive answer of the
// dependency ("no such relation") never opens the breaker; only outages do.
func Breaker[R any](name string, cfg BreakerConfig, isFailure func(error) bool, log *slog.Logger) circuitbreaker.CircuitBreaker[R] {
	cfg.setDefaults()
	b := circuitbreaker.NewBuilder[R]().
		WithFailureThresholdRatio(cfg.Failures, cfg.Window).
		WithDelay(cfg.Delay).
		WithSuccessThreshold(cfg.Successes).
		HandleIf(func(_ R, err error) bool {
			if err == nil {
				return false
			}
			return isFailure == nil || isFailure(err)
		})
	if log != nil {
		b = b.OnStateChanged(func(e circuitbreaker.StateChangedEvent) {
			log.Warn("circuit breaker changed state", "breaker", name, "from", e.OldState.String(), "to", e.NewState.String())
		})
	}
	return b.Build()
}

// Timeout bounds one call; the function must use the execution's context to be cancelled.
func Timeout[R any](d time.Duration) timeout.Timeout[R] {
	return timeout.New[R](d)
}

// Bulkhead admits at most max concurrent executions and waits at most wait for a slot (0: refuse at
// once), so overload turns into fast refusals instead of an unbounded queue.
func Bulkhead[R any](max uint, wait time.Duration) bulkhead.Bulkhead[R] {
	return bulkhead.NewBuilder[R](max).WithMaxWaitTime(wait).Build()
}

// IsOutage reports whether err is a refusal of a resilience policy (open breaker, timeout, full
// bulkhead): the dependency is unavailable, as opposed to having answered.
func IsOutage(err error) bool {
	return errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, timeout.ErrExceeded) ||
		errors.Is(err, bulkhead.ErrFull) || errors.Is(err, context.DeadlineExceeded)
}

// BulkheadHandler guards next with a bulkhead of max concurrent requests: when full, the request
// is answered 503 unavailable at once (with Retry-After) by writeError, instead of queueing without bound.
// writeError renders the error; the functions pass serve.WriteError so errors map in one place.
func BulkheadHandler(next http.Handler, max uint, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	bh := Bulkhead[any](max, 0)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bh.TryAcquirePermit() {
			e := events.Errorf(events.CodeUnavailable, "overloaded, retry shortly")
			e.RetryAfter = time.Second
			writeError(w, r, e)
			return
		}
		defer bh.ReleasePermit()
		next.ServeHTTP(w, r)
	})
}

// Execute runs fn under policies with ctx; fn receives the execution's context (cancelled by a timeout policy).
func Execute[R any](ctx context.Context, fn func(ctx context.Context) (R, error), policies ...failsafe.Policy[R]) (R, error) {
	return failsafe.With(policies...).WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[R]) (R, error) {
		return fn(exec.Context())
	})
}
