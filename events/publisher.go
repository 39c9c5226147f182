package events

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Publisher writes CloudEvents to a Kafka topic; infra/kafka.Writer is the implementation. It is
// declared here, once, so that every user and every fake keeps the same contract.
type Publisher interface {
	// Publish writes evs to topic. It is safe for concurrent use.
	//
	// It returns nil only once the broker has stored every event of the call (acknowledged by all
	// in-sync replicas), so a caller may then answer "stored".
	//
	// Each event is keyed by its partitionkey extension (ExtPartitionKey): the events of one call
	// that share a key land on one partition in the order of evs. An event without one may land on
	// any partition.
	//
	// It returns by the time ctx is done: if the outcome is not known by then, with an error
	// wrapping ctx.Err(), and the events may still be stored later.
	//
	// An error does not mean nothing was stored: some of the events may have been, and a retry
	// stores them again. Delivery is thus at least once; consumers deduplicate by CloudEvent id.
	Publish(ctx context.Context, topic string, evs ...event.Event) error
}
