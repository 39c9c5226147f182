package serve

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-im/parley/events"
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
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect now; 53300: too many connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	}
	return pgconn.SafeToRetry(err)
}
