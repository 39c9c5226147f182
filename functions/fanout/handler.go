// Package fanout turns facts into deliveries: for each fact (and each im.command.rejected reply) it
// resolves who must hear of it and produces im.delivery.v1 events (the fact + its recipients) to the
// im.delivery topic, keyed like the fact, for the socket-edges. The trigger is ordered, so deliveries
// of one conversation leave in fact order. Redelivery of a fact produces the same delivery ids.
//
// Message facts can still reach the broker out of seq order (two send leaders or instances commit
// and publish separately) or more than once (outbox flush and sweep, retries), so im.message.created
// is delivered against a cursor in PostgreSQL, delivery_cursors.delivered_seq (the highest seq
// delivered): a fact at or below the cursor is late or a duplicate and reaches nobody (its sender's
// pending frame still gets its answer, see [events.Delivery.ReplyOnly]); a fact above cursor+1 first
// delivers the messages in between, read from PostgreSQL, in seq order. The cursor advances only
// after the publish succeeded: a crash in between republishes (the edge drops the repeats), never loses.
// Advances are written in batches, a few milliseconds late (cursors).
package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

// Source is the CloudEvents source of delivery events.
const Source = "/parley/fanout"

// Config of the function. Zero values take the documented defaults.
type Config struct {
	Topic string // default events.TopicDelivery
	// ChunkSize bounds the recipients of one delivery event (a 10,000-member group becomes several
	// events, each well under Kafka's message size); default 1000.
	ChunkSize int
	// MaxGap bounds the messages one fact fills in below its own seq (the newest ones are delivered;
	// clients pull anything older); default 500.
	MaxGap int
	// CursorEvery is the shortest time between two writes of delivery-cursor advances (cursors);
	// default 10ms.
	CursorEvery time.Duration
}

// Deps are the function's clients.
type Deps struct {
	Pool      *pgxpool.Pool
	Publisher events.Publisher
	Log       *slog.Logger
}

// Handler is the fanout function.
type Handler struct {
	cfg Config
	d   Deps
	// late counts message facts at or below the delivery cursor (parley_fanout_late_facts_total);
	// gaps counts messages delivered from PostgreSQL ahead of their own late fact
	// (parley_fanout_gap_filled_total). Both mean a fact reached fanout late or twice.
	late, gaps metric.Int64Counter
	cur        *cursors
	recipients map[string]resolver // by fact type (recipients.go)
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.Topic == "" {
		cfg.Topic = events.TopicDelivery
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1000
	}
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = 500
	}
	if cfg.CursorEvery <= 0 {
		cfg.CursorEvery = 10 * time.Millisecond
	}
	meter := otel.GetMeterProvider().Meter("github.com/parley-im/parley/functions/fanout")
	// The instruments' errors are for invalid names only; these are constant and valid.
	late, _ := meter.Int64Counter("parley_fanout_late_facts",
		metric.WithDescription("message facts at or below the delivery cursor (late or duplicate): delivered to nobody"))
	gaps, _ := meter.Int64Counter("parley_fanout_gap_filled",
		metric.WithDescription("messages delivered from PostgreSQL because their fact had not arrived yet"))
	curFail, _ := meter.Int64Counter("parley_fanout_cursor_write_failures",
		metric.WithDescription("failed batch writes of delivery-cursor advances (retried with the next batch)"))
	h := &Handler{cfg: cfg, d: d, late: late, gaps: gaps, cur: newCursors(d.Pool, d.Log, cfg.CursorEvery, curFail)}
	h.recipients = h.recipientTable()
	return h
}

// Mount serves the function: POST / for the facts (no public routes). It starts the delivery-cursor
// writer, which runs until ctx ends.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	h.cur.start(ctx)
	return serve.Mount(ctx, opts, nil, h.HandleEvent)
}

// deliveryNS namespaces the name-based (v5) ids of delivery events.
var deliveryNS = uuid.MustParse("6f0c2b1e-8f0d-4f3e-9a57-5b1c1e0d7a10")

// DeliveryID is the id of chunk i of the delivery of fact: stable, so a redelivered fact yields
// the same delivery events and the edge can drop the repeats.
func DeliveryID(fact event.Event, i int) string {
	return uuid.NewSHA1(deliveryNS, fmt.Appendf(nil, "%s\x00%s\x00%d", fact.Source(), fact.ID(), i)).String()
}

// ReplyID is the id of the reply-only delivery answering the sender of a late or duplicate fact.
func ReplyID(fact event.Event) string {
	return uuid.NewSHA1(deliveryNS, fmt.Appendf(nil, "%s\x00%s\x00reply", fact.Source(), fact.ID())).String()
}

// GapDeliveryID is the id of chunk i of the delivery of a message read from PostgreSQL to fill a gap
// (derived from the message id, so a retry yields the same ids).
func GapDeliveryID(messageID string, i int) string {
	return uuid.NewSHA1(deliveryNS, fmt.Appendf(nil, "message\x00%s\x00%d", messageID, i)).String()
}

// gapEventID is the DeliveredEvent id of a message read from PostgreSQL (its fact is not at hand).
func gapEventID(messageID string) string {
	return uuid.NewSHA1(deliveryNS, fmt.Appendf(nil, "message\x00%s", messageID)).String()
}

// HandleEvent delivers one fact. A fact that cannot be decoded is poison; a publish failure is
// retried by the trigger.
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() == events.TypeMessageCreated {
		return nil, h.deliverMessage(ctx, e)
	}
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

// deliverMessage delivers im.message.created against the conversation's delivery cursor (package doc).
func (h *Handler) deliverMessage(ctx context.Context, fact event.Event) error {
	f, err := events.Decode[events.MessageFact](fact)
	if err != nil {
		return err
	}
	conv, seq := f.Message.ConversationID, f.Message.Seq
	if seq <= 0 { // not a stored message (send always sets seq): nothing to order it by
		recipients, err := h.members(ctx, conv)
		if err != nil {
			return err
		}
		evs, err := h.Deliveries(fact, recipients)
		if err != nil {
			return err
		}
		return h.publish(ctx, evs...)
	}
	// One round trip: the cursor and the members (NULL when the conversation has none). An advance
	// not written yet is this process's to know; read it first (cursors.pendingSeq).
	pending := h.cur.pendingSeq(conv)
	delivered, recipients, err := h.cursorAndMembers(ctx, conv)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the conversation is gone, and its members with it
	}
	if err != nil {
		return fmt.Errorf("delivery cursor: %w", err)
	}
	delivered = max(delivered, pending)
	if seq <= delivered {
		// Late (a gap fill delivered it already) or a duplicate: members have it. A WebSocket sender
		// may still wait for its answer, which only this fact carries.
		corr := events.StringExtension(fact, events.ExtCorrelationID)
		h.late.Add(ctx, 1)
		h.d.Log.WarnContext(ctx, "late message fact: members have it, only its sender is answered", "id", fact.ID(),
			"conversation", conv, "seq", seq, "delivered_seq", delivered, "correlationid", corr)
		if corr == "" || f.Message.SenderID == "" {
			return nil
		}
		d, err := h.delivery(ReplyID(fact), events.PartitionKey(fact), fact.Time(), factEvent(fact),
			[]string{f.Message.SenderID}, true)
		if err != nil {
			return err
		}
		return h.publish(ctx, d)
	}
	var evs []event.Event
	if seq > delivered+1 && len(recipients) > 0 {
		from := max(delivered, seq-1-int64(h.cfg.MaxGap))
		gap, _, err := messaging.History(ctx, h.d.Pool, conv,
			messaging.Page{AfterSeq: from, BeforeSeq: seq, Forward: true, Limit: h.cfg.MaxGap})
		if err != nil {
			return err
		}
		if len(gap) > 0 {
			h.gaps.Add(ctx, int64(len(gap)))
			h.d.Log.WarnContext(ctx, "message facts missing: delivering from PostgreSQL", "id", fact.ID(),
				"conversation", conv, "from_seq", gap[0].Seq, "to_seq", gap[len(gap)-1].Seq)
		}
		for _, m := range gap {
			ds, err := h.gapDeliveries(m, recipients)
			if err != nil {
				return err
			}
			evs = append(evs, ds...)
		}
	}
	own, err := h.Deliveries(fact, recipients)
	if err != nil {
		return err
	}
	evs = append(evs, own...)
	if err := h.publish(ctx, evs...); err != nil { // one call: the gap, then the fact, in order
		return err
	}
	// Batched and lazy: an advance lost in a crash only redelivers (the edge drops the repeats).
	if err := h.cur.advance(ctx, conv, seq); err != nil {
		// Retried: the deliveries go out again with the same ids and the edge drops the repeats.
		return fmt.Errorf("advance delivery cursor: %w", err)
	}
	return nil
}

func (h *Handler) publish(ctx context.Context, evs ...event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := h.d.Publisher.Publish(ctx, h.cfg.Topic, evs...); err != nil {
		return events.Wrap(events.CodeUnavailable, err, "delivery publish failed")
	}
	return nil
}

// factEvent is the part of fact a delivery carries.
func factEvent(fact event.Event) events.DeliveredEvent {
	d := events.DeliveredEvent{
		ID: fact.ID(), Type: fact.Type(), Subject: fact.Subject(),
		CorrelationID: events.StringExtension(fact, events.ExtCorrelationID), Time: fact.Time(), Data: fact.Data(),
	}
	if p, _ := events.PushFrameOf(d.Type); p.Acked {
		// Read once here rather than by every edge for every delivery.
		d.ConversationID, d.Seq = events.MessagePosition(d.Data)
	}
	return d
}

// Deliveries builds the delivery events of fact for recipients, chunked.
func (h *Handler) Deliveries(fact event.Event, recipients []string) ([]event.Event, error) {
	return h.chunks(func(i int) string { return DeliveryID(fact, i) }, events.PartitionKey(fact), fact.Time(),
		factEvent(fact), recipients)
}

// gapDeliveries builds the delivery events of message m, read from PostgreSQL, for recipients:
// an im.message.created without correlation id, its ids and time derived from the message.
func (h *Handler) gapDeliveries(m events.Message, recipients []string) ([]event.Event, error) {
	data, err := json.Marshal(events.MessageFact{Message: m})
	if err != nil {
		return nil, err
	}
	inner := events.DeliveredEvent{ID: gapEventID(m.ID), Type: events.TypeMessageCreated, Subject: m.ConversationID,
		Time: m.CreatedAt, ConversationID: m.ConversationID, Seq: m.Seq, Data: data}
	return h.chunks(func(i int) string { return GapDeliveryID(m.ID, i) }, m.ConversationID, m.CreatedAt, inner, recipients)
}

// chunks splits recipients into delivery events of at most ChunkSize recipients, chunk i with id(i).
func (h *Handler) chunks(id func(int) string, key string, at time.Time, inner events.DeliveredEvent,
	recipients []string) ([]event.Event, error) {
	var out []event.Event
	for i := 0; len(recipients) > 0; i++ {
		n := min(len(recipients), h.cfg.ChunkSize)
		d, err := h.delivery(id(i), key, at, inner, recipients[:n], false)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		recipients = recipients[n:]
	}
	return out, nil
}

// delivery builds one delivery event; its time is the fact's, so a redelivered fact yields
// byte-identical deliveries.
func (h *Handler) delivery(id, key string, at time.Time, inner events.DeliveredEvent, recipients []string,
	replyOnly bool) (event.Event, error) {
	d, err := events.New(id, Source, events.TypeDelivery, key,
		events.Delivery{Recipients: recipients, Event: inner, ReplyOnly: replyOnly})
	if err != nil {
		return d, err
	}
	d.SetTime(at)
	if inner.CorrelationID != "" {
		d.SetExtension(events.ExtCorrelationID, inner.CorrelationID)
	}
	return d, nil
}
