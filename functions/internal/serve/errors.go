package serve

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/postgres"
)

// PublicError maps any error to the catalog, for HTTP answers and CloudEvent results alike: an
// *events.Error keeps its code; a dependency that is down or restarting (connection refused or cut,
// PostgreSQL shutting down, a timeout) is unavailable: 503, retryable, so clients and the broker retry;
// anything else is internal, with no detail leaked.
func PublicError(err error) *events.Error {
	var ee *events.Error
	if errors.As(err, &ee) {
		return ee
	}
	if transient(err) {
		return events.Wrap(events.CodeUnavailable, err, "a dependency is unavailable; retry")
	}
	return events.AsError(err)
}

func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return postgres.IsUnavailable(err)
}
