// Package fanout turns facts into deliveries: for each fact (and each im.command.rejected reply) it
// resolves who must hear of it and produces im.delivery.v1 events (the fact + its recipients) to the
// im.delivery topic, keyed like the fact, for the socket-edges. The trigger is ordered, so deliveries
// of one conversation leave in fact order. Redelivery of a fact produces the same delivery ids.
package fanout

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
)

// Source is the CloudEvents source of delivery events.
const Source = "/parley/fanout"

// Publisher writes events to a Kafka topic and returns once they are stored (infra/kafka Writer).
type Publisher interface {
	Publish(ctx context.Context, topic string, evs ...event.Event) error
}

// Config of the function. Zero values take the documented defaults.
type Config struct {
	Topic string // default events.TopicDelivery
	// ChunkSize bounds the recipients of one delivery event (a 10,000-member group becomes several
	// events, each well under Kafka's message size); default 1000.
	ChunkSize int
}

// Deps are the function's clients.
type Deps struct {
	Pool      *pgxpool.Pool
	Publisher Publisher
	Log       *slog.Logger
}

// Handler is the fanout function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.Topic == "" {
		cfg.Topic = events.TopicDelivery
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1000
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the function: POST / for the facts (no public routes).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, nil, h.HandleEvent)
}

// deliveryNS namespaces the name-based (v5) ids of delivery events.
var deliveryNS = uuid.MustParse("6f0c2b1e-8f0d-4f3e-9a57-5b1c1e0d7a10")

// DeliveryID is the id of chunk i of the delivery of fact: stable, so a redelivered fact yields
// the same delivery events and the edge can drop the repeats.
func DeliveryID(fact event.Event, i int) string {
	return uuid.NewSHA1(deliveryNS, fmt.Appendf(nil, "%s\x00%s\x00%d", fact.Source(), fact.ID(), i)).String()
}

// HandleEvent delivers one fact. A fact that cannot be decoded is poison; a publish failure is
// retried by the trigger.
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	recipients, err := h.Recipients(ctx, e)
	if err != nil {
		return nil, err
	}
	evs, err := h.Deliveries(e, recipients)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	if err := h.d.Publisher.Publish(ctx, h.cfg.Topic, evs...); err != nil {
		return nil, events.Wrap(events.CodeUnavailable, err, "delivery publish failed")
	}
	return nil, nil
}

// Deliveries builds the delivery events of fact for recipients, chunked.
func (h *Handler) Deliveries(fact event.Event, recipients []string) ([]event.Event, error) {
	inner := events.DeliveredEvent{
		ID: fact.ID(), Type: fact.Type(), Subject: fact.Subject(),
		CorrelationID: events.StringExtension(fact, events.ExtCorrelationID), Time: fact.Time(), Data: fact.Data(),
	}
	key := events.PartitionKey(fact)
	var out []event.Event
	for i := 0; len(recipients) > 0; i++ {
		n := min(len(recipients), h.cfg.ChunkSize)
		d, err := events.New(DeliveryID(fact, i), Source, events.TypeDelivery, key,
			events.Delivery{Recipients: recipients[:n], Event: inner})
		if err != nil {
			return nil, err
		}
		d.SetTime(fact.Time()) // a redelivered fact yields byte-identical deliveries
		if inner.CorrelationID != "" {
			d.SetExtension(events.ExtCorrelationID, inner.CorrelationID)
		}
		out = append(out, d)
		recipients = recipients[n:]
	}
	return out, nil
}

// Recipients resolves who must receive fact: the conversation's members now for conversation
// facts (plus removed users, who must hear of their removal), both users for contact facts, the
// commanding user for a rejection, the owner for file facts, the user for user and session facts
// (their own devices), the user's contacts for a presence change (the socket-edge publishes those
// and relies on fanout to know who may see them). Unknown types have none.
func (h *Handler) Recipients(ctx context.Context, e event.Event) ([]string, error) {
	switch e.Type() {
	case events.TypeMessageCreated, events.TypeMessageRevoked:
		f, err := events.Decode[events.MessageFact](e)
		if err != nil {
			return nil, err
		}
		return h.members(ctx, f.Message.ConversationID)
	case events.TypeConversationRead:
		f, err := events.Decode[events.ConversationRead](e)
		if err != nil {
			return nil, err
		}
		return h.members(ctx, f.ConversationID)
	case events.TypeConversationCreated, events.TypeConversationUpdated:
		f, err := events.Decode[events.ConversationFact](e)
		if err != nil {
			return nil, err
		}
		return h.members(ctx, f.Conversation.ID, f.MemberIDs...)
	case events.TypeMemberAdded:
		f, err := events.Decode[events.MemberFact](e)
		if err != nil {
			return nil, err
		}
		return h.members(ctx, f.ConversationID)
	case events.TypeMemberRemoved:
		f, err := events.Decode[events.MemberFact](e)
		if err != nil {
			return nil, err
		}
		return h.members(ctx, f.ConversationID, f.UserIDs...)
	case events.TypeContactRequested, events.TypeContactAccepted:
		f, err := events.Decode[events.ContactFact](e)
		if err != nil {
			return nil, err
		}
		return []string{f.Request.FromUserID, f.Request.ToUserID}, nil
	case events.TypeContactRemoved:
		f, err := events.Decode[events.ContactRemoved](e)
		if err != nil {
			return nil, err
		}
		return []string{f.UserID, f.ContactID}, nil
	case events.TypeCommandRejected:
		f, err := events.Decode[events.CommandRejected](e)
		if err != nil {
			return nil, err
		}
		return []string{f.UserID}, nil
	case events.TypeSessionRevoked:
		f, err := events.Decode[events.SessionRevoked](e)
		if err != nil {
			return nil, err
		}
		return []string{f.UserID}, nil
	case events.TypeUserDeleted:
		f, err := events.Decode[events.UserDeleted](e)
		if err != nil {
			return nil, err
		}
		return []string{f.UserID}, nil
	case events.TypeUserRegistered, events.TypeUserUpdated:
		f, err := events.Decode[events.UserFact](e)
		if err != nil {
			return nil, err
		}
		return []string{f.User.ID}, nil
	case events.TypePresenceChanged:
		f, err := events.Decode[events.PresenceChanged](e)
		if err != nil {
			return nil, err
		}
		return h.contacts(ctx, f.UserID)
	case events.TypeFileUploaded, events.TypeFileRejected:
		f, err := events.Decode[events.FileFact](e)
		if err != nil {
			return nil, err
		}
		return []string{f.File.OwnerID}, nil
	}
	h.d.Log.DebugContext(ctx, "fanout: no recipients for type", "type", e.Type())
	return nil, nil
}

// members returns the conversation's current members plus extra (deduplicated).
func (h *Handler) members(ctx context.Context, conversationID string, extra ...string) ([]string, error) {
	rows, err := h.d.Pool.Query(ctx, `SELECT user_id FROM conversation_members WHERE conversation_id = $1`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	for _, x := range extra {
		found := false
		for _, id := range ids {
			if id == x {
				found = true
				break
			}
		}
		if !found && x != "" {
			ids = append(ids, x)
		}
	}
	return ids, nil
}

// contacts returns the accepted contacts of userID (contacts rows go both ways, so this is also
// everyone who has userID as a contact).
func (h *Handler) contacts(ctx context.Context, userID string) ([]string, error) {
	rows, err := h.d.Pool.Query(ctx, `SELECT contact_id FROM contacts WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return ids, nil
}
