package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/auth"
)

// MaxBodyBytes bounds every JSON request body.
const MaxBodyBytes = 1 << 20

// HandlerFunc is an HTTP handler that reports failure by returning an error; the error is rendered
// by WriteError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route adapts h to http.Handler.
func Route(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, log, err)
		}
	})
}

// UserHandlerFunc is a HandlerFunc of a route that acts for the caller: userID is the authenticated
// user's id.
type UserHandlerFunc func(w http.ResponseWriter, r *http.Request, userID string) error

// UserRoute adapts h to http.Handler for a route that acts for the caller: without a principal in the
// request's context (put there by the access layer, auth.FromContext) it answers unauthenticated and
// h does not run.
func UserRoute(log *slog.Logger, h UserHandlerFunc) http.Handler {
	return Route(log, func(w http.ResponseWriter, r *http.Request) error {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			return events.Errorf(events.CodeUnauthenticated, "authentication required")
		}
		return h(w, r, p.UserID)
	})
}

// Decode reads a JSON body into v: application/json only, at most MaxBodyBytes, valid UTF-8, one value,
// no unknown fields. Every failure is a client error with a stable code.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return events.Errorf(events.CodeUnsupportedMediaType, "the body must be application/json")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return events.Errorf(events.CodePayloadTooLarge, "the body exceeds %d bytes", MaxBodyBytes)
		}
		return events.Errorf(events.CodeInvalidArgument, "cannot read the body")
	}
	return DecodeBytes(body, v)
}

// DecodeBytes is Decode for a body already read (and the WebSocket frame decoder's twin).
func DecodeBytes(body []byte, v any) error {
	if !utf8.Valid(body) {
		return events.Invalid("body", "is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return events.Invalid(te.Field, "must be %s", te.Type.String())
		case errors.Is(err, io.EOF):
			return events.Invalid("body", "is empty")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return events.Invalid(field, "is not a known field")
		default:
			return events.Invalid("body", "is not valid JSON")
		}
	}
	if dec.More() {
		return events.Invalid("body", "must hold one JSON value")
	}
	return nil
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// WriteError renders err as application/problem+json. This is the one place where an error becomes
// an HTTP status: an *events.Error keeps its code, anything else is logged and answered as internal,
// with no detail leaked.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := PublicError(err)
	p := events.ProblemOf(e)
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "code", p.Code, "err", err)
	}
	if e.RetryAfter > 0 {
		secs := int(e.RetryAfter.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", events.ProblemContentType)
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}
