package events

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is a stable error code from the catalog of API.md. Clients branch on it; never rename one.
type Code string

// The error catalog.
const (
	CodeInvalidArgument      Code = "invalid_argument"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not_found"
	CodeConflict             Code = "conflict"
	CodeUsernameTaken        Code = "username_taken"
	CodeNotContacts          Code = "not_contacts"
	CodeBlocked              Code = "blocked"
	CodeRevokeWindowExpired  Code = "revoke_window_expired"
	CodeFileNotReady         Code = "file_not_ready"
	CodePayloadTooLarge      Code = "payload_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeRateLimited          Code = "rate_limited"
	CodeUnavailable          Code = "unavailable"
	CodeInternal             Code = "internal"
	// v1.1.
	CodeEditWindowExpired Code = "edit_window_expired"
	// CodeLimitExceeded is a per-object cap: reaction keys of a message, pins of a conversation,
	// push devices of a user.
	CodeLimitExceeded Code = "limit_exceeded"
)

// CodeSpec is everything the edges need to render a code: the HTTP status, the WebSocket close code
// when the code ends a connection (0: it does not, an error frame is sent instead), whether a client
// may retry the same request, and a human title.
type CodeSpec struct {
	Status    int
	Close     int
	Retryable bool
	Title     string
}

// Spec returns the catalog entry of c; an unknown code is treated as internal.
func (c Code) Spec() CodeSpec {
	switch c {
	case CodeInvalidArgument:
		return CodeSpec{http.StatusBadRequest, 0, false, "Invalid argument"}
	case CodeUnauthenticated:
		return CodeSpec{http.StatusUnauthorized, CloseUnauthenticated, false, "Unauthenticated"}
	case CodeForbidden:
		return CodeSpec{http.StatusForbidden, 0, false, "Forbidden"}
	case CodeNotFound:
		return CodeSpec{http.StatusNotFound, 0, false, "Not found"}
	case CodeConflict:
		return CodeSpec{http.StatusConflict, 0, false, "Conflict"}
	case CodeUsernameTaken:
		return CodeSpec{http.StatusConflict, 0, false, "Username taken"}
	case CodeNotContacts:
		return CodeSpec{http.StatusForbidden, 0, false, "Not contacts"}
	case CodeBlocked:
		return CodeSpec{http.StatusForbidden, 0, false, "Blocked"}
	case CodeEditWindowExpired:
		return CodeSpec{http.StatusConflict, 0, false, "Edit window expired"}
	case CodeLimitExceeded:
		return CodeSpec{http.StatusConflict, 0, false, "Limit exceeded"}
	case CodeRevokeWindowExpired:
		return CodeSpec{http.StatusConflict, 0, false, "Revoke window expired"}
	case CodeFileNotReady:
		return CodeSpec{http.StatusConflict, 0, true, "File not ready"}
	case CodePayloadTooLarge:
		return CodeSpec{http.StatusRequestEntityTooLarge, CloseTooBig, false, "Payload too large"}
	case CodeUnsupportedMediaType:
		return CodeSpec{http.StatusUnsupportedMediaType, 0, false, "Unsupported media type"}
	case CodeRateLimited:
		return CodeSpec{http.StatusTooManyRequests, CloseRateLimited, true, "Rate limited"}
	case CodeUnavailable:
		return CodeSpec{http.StatusServiceUnavailable, 0, true, "Service unavailable"}
	default:
		return CodeSpec{http.StatusInternalServerError, 0, true, "Internal error"}
	}
}

// Codes lists the whole catalog (for docs and tests).
func Codes() []Code {
	return []Code{
		CodeInvalidArgument, CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeConflict,
		CodeUsernameTaken, CodeNotContacts, CodeBlocked, CodeRevokeWindowExpired, CodeFileNotReady,
		CodePayloadTooLarge, CodeUnsupportedMediaType, CodeRateLimited, CodeUnavailable, CodeInternal,
		CodeEditWindowExpired, CodeLimitExceeded,
	}
}

// Error is the one error type that crosses a public boundary. Message is safe to show a client;
// Field names the offending input for invalid_argument. The wrapped cause is for logs only.
type Error struct {
	Code    Code
	Message string
	Field   string
	// RetryAfter, when set on rate_limited or unavailable, is sent as the Retry-After header.
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap exposes the cause to errors.Is/As.
func (e *Error) Unwrap() error { return e.cause }

// Errorf builds an *Error with a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a cause (logged, never shown) to a public code.
func Wrap(code Code, cause error, message string) *Error {
	return &Error{Code: code, Message: message, cause: cause}
}

// AsError finds the *Error in err's chain; anything else becomes internal, with no detail leaked.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", cause: err}
}

// Problem is the application/problem+json body of every HTTP error (RFC 9457).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   Code   `json:"code"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
}

// ProblemContentType is the media type of Problem bodies.
const ProblemContentType = "application/problem+json"

// ProblemOf renders err as the Problem a client sees.
func ProblemOf(err error) Problem {
	e := AsError(err)
	s := e.Code.Spec()
	return Problem{
		Type:   "urn:parley:problem:" + string(e.Code),
		Title:  s.Title,
		Status: s.Status,
		Code:   e.Code,
		Detail: e.Message,
		Field:  e.Field,
	}
}
