// Package send stores messages: POST /v1/conversations/{id}/messages and the im.message.send.v1
// command from the broker end in the same Send. A message gets the next gapless seq of its
// conversation and commits with its im.message.created outbox row; the fact is published right after.
package send

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

// Source is the CloudEvents source of the facts and replies send produces.
const Source = "/parley/send"

// Config of the send function. Zero values take the documented defaults.
type Config struct {
	// MaxTextChars bounds a text message, in characters; default 4000.
	MaxTextChars int
	// MaxPayloadBytes bounds the payload of a message; default 16 KiB.
	MaxPayloadBytes int
	// FaultSkipPublish is a fault-injection hook for tests, off in production: the function stops
	// between commit and publish, as if it died there, leaving the fact to the outbox sweep.
	FaultSkipPublish bool
	// Committers bounds the send transactions in flight (each batches the messages queued
	// meanwhile); default 2 (measured best on 2 cores). MaxBatch bounds one batch; default 64.
	Committers int
	MaxBatch   int
	// MaxUndelivered refuses a send (unavailable, Retry-After 1s) while this many messages of its
	// conversation have not been delivered yet (fanout is behind: under overload the pushes would come
	// too late and the backlog would only grow); default 50. Only while fanout advances the
	// conversation's cursor: one that has not moved for DeliveryStall (default 3s) lets sends in
	// again, as only a new message's fact can repair deliveries lost in a broker outage.
	MaxUndelivered int
	DeliveryStall  time.Duration
	// HTTPQueueDeadline: an HTTP send still queued for its group commit this long after it arrived is
	// refused (unavailable, Retry-After 1s), as the edge's command deadline does for WebSocket sends;
	// default 1s. Without it an overloaded send answered its refusals only after seconds.
	HTTPQueueDeadline time.Duration
	// MaxMentions bounds a message's mentions (after de-duplication); default 100.
	MaxMentions int
}

// Relay publishes committed facts in the background, in the order handed over, leaving what it
// cannot publish to the outbox sweep (*postgres.Relay). Topic is the topic it publishes to, which
// the outbox rows send writes itself must name (postgres.OutboxInsert).
type Relay interface {
	Enqueue(ctx context.Context, evs ...event.Event)
	Topic() string
}

// Deps are send's clients.
type Deps struct {
	Pool *pgxpool.Pool
	// Relay publishes the facts after commit. A send is answered once its message is committed: the
	// publish is off the critical path (on the broker path that is the ordered partition's), and the
	// relay keeps the facts of one process in commit order. The caller runs it.
	Relay Relay
	Log   *slog.Logger
}

// Handler is the send function.
type Handler struct {
	cfg    Config
	store  *store
	commit *groupCommit
	log    *slog.Logger
}

// errDuplicate: the sender already stored a message under this client_msg_id.
var errDuplicate = errors.New("duplicate client_msg_id")

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.MaxTextChars <= 0 {
		cfg.MaxTextChars = 4000
	}
	if cfg.MaxPayloadBytes <= 0 {
		cfg.MaxPayloadBytes = 16 << 10
	}
	if cfg.Committers <= 0 {
		cfg.Committers = 2
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.MaxUndelivered <= 0 {
		cfg.MaxUndelivered = 50
	}
	if cfg.DeliveryStall <= 0 {
		cfg.DeliveryStall = 3 * time.Second
	}
	if cfg.HTTPQueueDeadline <= 0 {
		cfg.HTTPQueueDeadline = time.Second
	}
	if cfg.MaxMentions <= 0 {
		cfg.MaxMentions = 100
	}
	s := &store{pool: d.Pool, topic: d.Relay.Topic(), maxBehind: int64(cfg.MaxUndelivered), stall: cfg.DeliveryStall, log: d.Log}
	flush := d.Relay.Enqueue
	if cfg.FaultSkipPublish {
		flush = func(ctx context.Context, evs ...event.Event) {
			d.Log.WarnContext(ctx, "fault hook: stopped between commit and publish", "events", len(evs))
		}
	}
	return &Handler{cfg: cfg, store: s, commit: newGroupCommit(s, flush, cfg.Committers, cfg.MaxBatch), log: d.Log}
}

// Mount serves the function: its public route and POST / for the command.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, h.HandleEvent)
}

// Routes registers the public route.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/conversations/{id}/messages", serve.UserRoute(h.log, h.post))
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.SendMessage
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	ctx := serve.WithCommandDeadline(r.Context(), time.Now().Add(h.cfg.HTTPQueueDeadline))
	msg, created, err := h.Send(ctx, events.SendCommand{UserID: userID, ConversationID: r.PathValue("id"), SendMessage: body})
	if errors.Is(err, serve.ErrExpired) {
		return errQueued
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return serve.WriteJSON(w, status, events.MessageResponse{Message: msg})
}

// HandleEvent handles im.message.send.v1 from the broker. A refusal is an im.command.rejected reply
// (the sender hears why; redelivery cannot help); only infrastructure failures are errors (retried).
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.TypeMessageSend {
		return nil, events.Invalid("type", "send does not handle %s", e.Type())
	}
	return messaging.CommandAnswer(ctx, Source, e, func(c events.SendCommand) string { return c.UserID },
		func(ctx context.Context, c events.SendCommand) (*event.Event, error) {
			msg, created, err := h.Send(ctx, c)
			if errors.Is(err, errBehind) {
				// Answered at once: redelivering would hold the ordered partition for nothing.
				return serve.Rejection(Source, e, c.UserID, err)
			}
			if err == nil && !created && serve.Correlation(ctx) != "" {
				return retryAnswer(ctx, msg)
			}
			return nil, err
		})
}

// retryAnswer answers a retried command (a client_msg_id already stored). It stores nothing new, so
// no fact would carry its correlation id back to the socket waiting for the answer: the reply is the
// original message's fact under this command's correlation id. Fanout has delivered that seq already,
// so members get nothing again and only the waiting sender is answered (events.Delivery.ReplyOnly).
// Its id is derived from the message and the correlation id, so a redelivered command replies the same.
func retryAnswer(ctx context.Context, msg events.Message) (*event.Event, error) {
	f, err := messaging.NewFact(ctx, Source, events.TypeMessageCreated, msg.ConversationID, events.MessageFact{Message: msg})
	if err != nil {
		return nil, err
	}
	f.SetID(uuid.NewSHA1(uuid.NameSpaceOID, []byte(msg.ID+"/"+serve.Correlation(ctx))).String())
	return &f, nil
}

// Send stores cmd's message and publishes its fact. created is false when the sender had already
// stored a message under the same client_msg_id: that original is returned, whatever cmd holds.
func (h *Handler) Send(ctx context.Context, cmd events.SendCommand) (events.Message, bool, error) {
	if err := cmd.Validate(); err != nil {
		return events.Message{}, false, err
	}
	if cmd.Type == events.MessageText && utf8.RuneCountInString(cmd.Text) > h.cfg.MaxTextChars {
		return events.Message{}, false, events.Invalid("text", "must be at most %d characters", h.cfg.MaxTextChars)
	}
	if len(cmd.Payload) > h.cfg.MaxPayloadBytes {
		return events.Message{}, false, events.Invalid("payload", "must be at most %d bytes", h.cfg.MaxPayloadBytes)
	}
	mentions, err := h.mentions(cmd.Mentions)
	if err != nil {
		return events.Message{}, false, err
	}
	msg := events.Message{
		ID: messaging.NewID(), ConversationID: cmd.ConversationID, SenderID: cmd.UserID, ClientMsgID: cmd.ClientMsgID,
		Type: cmd.Type, Text: cmd.Text, Status: events.StatusNormal, CreatedAt: messaging.Now(),
		Mentions: mentions, MentionAll: cmd.MentionAll,
	}
	if cmd.ReplyTo != "" {
		// Read ahead so the fact and the answer carry the parent as a reply shows it; the insert
		// statement checks the parent again (it cannot be deleted, so this only adds the preview).
		p, member, ok, err := h.store.parent(ctx, cmd.ConversationID, cmd.UserID, cmd.ReplyTo)
		switch {
		case err != nil:
			return events.Message{}, false, err
		case !member:
			return events.Message{}, false, messaging.ErrNotFound()
		case !ok:
			return events.Message{}, false, events.Invalid("reply_to", "is not a message of this conversation")
		}
		msg.ReplyTo = &p
	}
	if len(cmd.Payload) > 0 {
		msg.Payload = compact(cmd.Payload)
	}
	nm := newMessage{payload: msg.Payload}
	if events.IsMediaType(cmd.Type) {
		f, err := h.readyFile(ctx, cmd.UserID, cmd.FileID)
		if err != nil {
			return events.Message{}, false, err
		}
		msg.File, nm.fileID = &f, &f.ID
	}
	fact, err := messaging.NewFact(ctx, Source, events.TypeMessageCreated, msg.ConversationID, events.MessageFact{Message: msg})
	if err != nil {
		return events.Message{}, false, err
	}
	nm.msg, nm.eventID = msg, fact.ID()
	if nm.event, err = json.Marshal(fact); err != nil {
		return events.Message{}, false, err
	}
	seq, err := h.commit.insert(ctx, nm, fact)
	if errors.Is(err, errDuplicate) {
		orig, err := h.store.original(ctx, cmd.UserID, cmd.ClientMsgID)
		return orig, false, err
	}
	if err != nil {
		return events.Message{}, false, err
	}
	msg.Seq = seq
	return msg, true, nil
}

// mentions checks and de-duplicates a message's mentions (first occurrence order); membership is
// the insert statement's check.
func (h *Handler) mentions(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" || len(id) > 64 {
			return nil, events.Invalid("mentions", "must be user ids")
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) > h.cfg.MaxMentions {
		return nil, events.Invalid("mentions", "must be at most %d users", h.cfg.MaxMentions)
	}
	return out, nil
}

// readyFile returns the file a media message refers to: it must exist, be the sender's, and be ready.
func (h *Handler) readyFile(ctx context.Context, userID, fileID string) (events.File, error) {
	f, ok, err := h.store.file(ctx, fileID)
	if err != nil {
		return f, err
	}
	if !ok || f.OwnerID != userID {
		return f, events.Invalid("file_id", "no such file")
	}
	switch f.Status {
	case events.FileReady:
		return f, nil
	case events.FilePending:
		return f, events.Errorf(events.CodeFileNotReady, "the file is not uploaded yet")
	}
	return f, events.Invalid("file_id", "the file was rejected")
}

// compact stores payloads in one canonical form (PostgreSQL jsonb re-renders them anyway).
func compact(p json.RawMessage) json.RawMessage {
	var b []byte
	if c, err := json.Marshal(p); err == nil {
		b = c
	} else {
		b = p
	}
	return b
}
