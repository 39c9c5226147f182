// Package kafka is Parley's adapter over segmentio/kafka-go: a Writer that publishes CloudEvents in
// binary mode (events.ToRecord) with the settings DESIGN section 4 requires, a consumer that runs one
// goroutine per assigned partition with at-least-once commits, topic creation, and W3C trace context
// carried in record headers.
//
// kafka.Message and events.Record are converted only in record.go, so the rest of Parley never sees
// the client library's types.
package kafka
