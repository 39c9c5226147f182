package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Record is a Kafka record as the CloudEvents Kafka binding sees it. infra/kafka converts it to and
// from the client library's message type; keeping it here keeps this package free of a Kafka client.
type Record struct {
	Key     []byte
	Value   []byte
	Headers []Header
}

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// BinaryType returns the CloudEvent type of a binary-mode record from its ce_type header, without
// decoding the event; ok is false for a structured or plain record (decode it to know). Consumers
// that filter on type use it to skip the records they would drop anyway.
func (r Record) BinaryType() (typ string, ok bool) {
	for _, h := range r.Headers {
		if h.Key == headerPrefix+"type" {
			return string(h.Value), true
		}
	}
	return "", false
}

// ErrNotCloudEvent is returned by FromRecord for a plain record with no CloudEvent headers.
var ErrNotCloudEvent = errors.New("kafka record is not a CloudEvent")

const (
	headerPrefix      = "ce_"
	headerContentType = "content-type"
	structuredPrefix  = "application/cloudevents"
)

// ToRecord renders e in binary mode: every attribute and extension as a ce_<name> header,
// content-type = datacontenttype, value = data, key = the partitionkey extension.
func ToRecord(e event.Event) (Record, error) {
	if err := e.Validate(); err != nil {
		return Record{}, fmt.Errorf("invalid cloudevent: %w", err)
	}
	hs := []Header{
		{headerPrefix + "specversion", []byte(e.SpecVersion())},
		{headerPrefix + "id", []byte(e.ID())},
		{headerPrefix + "source", []byte(e.Source())},
		{headerPrefix + "type", []byte(e.Type())},
	}
	if s := e.Subject(); s != "" {
		hs = append(hs, Header{headerPrefix + "subject", []byte(s)})
	}
	if t := e.Time(); !t.IsZero() {
		hs = append(hs, Header{headerPrefix + "time", []byte(t.UTC().Format(time.RFC3339Nano))})
	}
	if s := e.DataSchema(); s != "" {
		hs = append(hs, Header{headerPrefix + "dataschema", []byte(s)})
	}
	if ct := e.DataContentType(); ct != "" {
		hs = append(hs, Header{headerContentType, []byte(ct)})
	}
	for name := range e.Extensions() {
		hs = append(hs, Header{headerPrefix + name, []byte(StringExtension(e, name))})
	}
	var key []byte
	if k := StringExtension(e, ExtPartitionKey); k != "" {
		key = []byte(k)
	}
	return Record{Key: key, Value: e.Data(), Headers: hs}, nil
}

// FromRecord reads a record written in binary mode, or in structured mode when its content-type starts
// with application/cloudevents. A record without ce_ headers gives ErrNotCloudEvent.
func FromRecord(r Record) (event.Event, error) {
	ct := header(r.Headers, headerContentType)
	if strings.HasPrefix(ct, structuredPrefix) {
		var e event.Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			return event.Event{}, fmt.Errorf("structured cloudevent: %w", err)
		}
		return e, e.Validate()
	}
	spec := header(r.Headers, headerPrefix+"specversion")
	if spec == "" {
		return event.Event{}, ErrNotCloudEvent
	}
	if spec != event.CloudEventsVersionV1 && spec != event.CloudEventsVersionV03 {
		return event.Event{}, fmt.Errorf("binary cloudevent: unsupported specversion %q", spec)
	}
	e := event.New(spec)
	for _, h := range r.Headers {
		name, ok := strings.CutPrefix(strings.ToLower(h.Key), headerPrefix)
		if !ok {
			continue
		}
		v := string(h.Value)
		switch name {
		case "specversion":
		case "id":
			e.SetID(v)
		case "source":
			e.SetSource(v)
		case "type":
			e.SetType(v)
		case "subject":
			e.SetSubject(v)
		case "dataschema":
			e.SetDataSchema(v)
		case "datacontenttype":
			e.SetDataContentType(v)
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return event.Event{}, fmt.Errorf("ce_time: %w", err)
			}
			e.SetTime(t)
		default:
			e.SetExtension(name, v)
		}
	}
	if ct != "" {
		e.SetDataContentType(ct)
	}
	if len(r.Value) > 0 {
		e.DataEncoded = r.Value
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("binary cloudevent: %w", err)
	}
	return e, nil
}

// WrapRecord turns a plain record into the event a Knative KafkaSource would deliver:
// type dev.knative.kafka.event, id partition:<p>/offset:<o>, the key as extension "key", headers as
// kafkaheader<name> extensions.
func WrapRecord(namespace, source, topic string, partition int, offset int64, r Record, at time.Time) event.Event {
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(fmt.Sprintf("partition:%d/offset:%d", partition, offset))
	e.SetSource(fmt.Sprintf("/apis/v1/namespaces/%s/kafkasources/%s#%s", namespace, source, topic))
	e.SetSubject(fmt.Sprintf("partition:%d#%d", partition, offset))
	e.SetType(TypeKafkaRecord)
	e.SetTime(at.UTC())
	if len(r.Key) > 0 {
		e.SetExtension("key", string(r.Key))
	}
	for _, h := range r.Headers {
		if name := extensionName("kafkaheader" + h.Key); name != "" {
			e.SetExtension(name, string(h.Value))
		}
	}
	if ct := header(r.Headers, headerContentType); ct != "" {
		e.SetDataContentType(ct)
	} else if json.Valid(r.Value) {
		e.SetDataContentType(event.ApplicationJSON)
	}
	e.DataEncoded = r.Value
	return e
}

// extensionName lowercases and strips what a CloudEvents extension name may not hold.
func extensionName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func header(hs []Header, key string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value)
		}
	}
	return ""
}

// Source returns the CloudEvent source of a Parley component ("functions/send", "socket-edge/edge-1").
func Source(component string) string { return "/parley/" + component }
