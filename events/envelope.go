package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Validator is implemented by every payload.
type Validator interface{ Validate() error }

// New builds a CloudEvent with JSON data. id must be stable for a given logical event (outbox rows fix it)
// so republishing is idempotent; key is the partition key (conversation or user id) and also the subject.
func New(id, source, typ, key string, data Validator) (event.Event, error) {
	if err := data.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("%s payload: %w", typ, err)
	}
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(id)
	e.SetSource(source)
	e.SetType(typ)
	e.SetTime(time.Now().UTC())
	if key != "" {
		e.SetSubject(key)
		e.SetExtension(ExtPartitionKey, key)
	}
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, fmt.Errorf("%s data: %w", typ, err)
	}
	return e, nil
}

// Decode reads e's JSON data into T and validates it. A failure is an invalid_argument *Error: the event
// is poison, retrying it cannot help.
func Decode[T Validator](e event.Event) (T, error) {
	var v T
	if err := json.Unmarshal(e.Data(), &v); err != nil {
		return v, Invalid("data", "cannot decode %s: %v", e.Type(), err)
	}
	if err := v.Validate(); err != nil {
		return v, err
	}
	return v, nil
}

// StringExtension returns a string extension of e, or "" when absent.
func StringExtension(e event.Event, name string) string {
	v, ok := e.Extensions()[name]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v)
	}
	return s
}

// PartitionKey returns e's partitionkey extension, falling back to its subject.
func PartitionKey(e event.Event) string {
	if k := StringExtension(e, ExtPartitionKey); k != "" {
		return k
	}
	return e.Subject()
}

// SetDeadline stamps command e with the time after which it must not be applied (ExtDeadline).
func SetDeadline(e *event.Event, t time.Time) {
	e.SetExtension(ExtDeadline, t.UTC().Format(time.RFC3339Nano))
}

// Expired reports whether command e carries a deadline that has passed at now. A command without
// one (or with one that does not parse) never expires.
func Expired(e event.Event, now time.Time) bool {
	t, ok := Deadline(e)
	return ok && now.After(t)
}

// Deadline returns command e's deadline; false when it has none (or one that does not parse).
func Deadline(e event.Event) (time.Time, bool) {
	v := StringExtension(e, ExtDeadline)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}
