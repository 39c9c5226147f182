// Package messaging holds the rules and queries that the conversation functions (contacts,
// conversations, send, read, revoke, fanout, sweep) share: the membership check every operation
// starts with, the message row and its rendering, the fact builder, and the Keto mirror of
// conversation roles. Anything used by one function only stays in that function's package.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
)

// Querier is what both *pgxpool.Pool and pgx.Tx offer, so a query helper runs in or out of a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrNotFound is the one answer for a missing conversation and for one the caller is not a member of:
// a stranger must not learn that a conversation exists.
func ErrNotFound() error { return events.Errorf(events.CodeNotFound, "conversation not found") }

// NewID returns a UUIDv7 string: time-ordered, so ids index well.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// NewFact builds a fact with a fresh id, keyed by key (conversation or user id), carrying the
// correlation id of the command being handled so the edge can answer the right frame.
func NewFact(ctx context.Context, source, typ, key string, data events.Validator) (event.Event, error) {
	e, err := events.New(NewID(), source, typ, key, data)
	if err != nil {
		return event.Event{}, err
	}
	if c := serve.Correlation(ctx); c != "" {
		e.SetExtension(events.ExtCorrelationID, c)
	}
	return e, nil
}

// EmitFact builds a fact (NewFact) and emits it into the outbox of the transaction emit belongs to
// (postgres.Outbox.InTx), so a handler's transaction ends in one line.
func EmitFact(ctx context.Context, emit postgres.Emit, source, typ, key string, data events.Validator) error {
	e, err := NewFact(ctx, source, typ, key, data)
	if err != nil {
		return err
	}
	emit(e)
	return nil
}

// Now is the timestamp stored for new rows: UTC, at PostgreSQL's microsecond precision, so what is
// rendered before a write equals what is read back after it.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Role returns userID's role in the conversation, or the not-found error when the conversation is
// missing or userID is not a member.
func Role(ctx context.Context, q Querier, conversationID, userID string) (string, error) {
	var role string
	err := q.QueryRow(ctx, `SELECT role FROM conversation_members WHERE conversation_id = $1 AND user_id = $2`,
		conversationID, userID).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound()
	}
	if err != nil {
		return "", fmt.Errorf("membership: %w", err)
	}
	return role, nil
}

// CanManage reports whether role may rename the conversation and add or remove members.
func CanManage(role string) bool { return role == events.RoleOwner || role == events.RoleAdmin }

// Limit clamps a requested page size.
func Limit(v, def, max int) int {
	switch {
	case v <= 0:
		return def
	case v > max:
		return max
	}
	return v
}

// Outbox runs a transaction whose emitted facts commit with it and are published after commit
// (*postgres.Outbox): what every function that changes conversation state needs.
type Outbox interface {
	InTx(ctx context.Context, fn func(tx pgx.Tx, emit postgres.Emit) error) error
}

// Command is the broker side of a command function: it decodes e's data as a T, runs it, and answers
// as CommandReply does, naming the sender that userID reads from the command (a command that decodes
// but fails validation is still rejected to its sender).
// (Commands past their deadline never get here: serve.Events drops them.)
func Command[T events.Validator](ctx context.Context, source string, e event.Event, userID func(T) string,
	run func(context.Context, T) error) (*event.Event, error) {
	return CommandAnswer(ctx, source, e, userID, func(ctx context.Context, cmd T) (*event.Event, error) {
		return nil, run(ctx, cmd)
	})
}

// CommandAnswer is Command for a command that may answer itself: when run succeeds, its event (nil
// for none) is the reply; when it fails, the error is answered as Command does.
func CommandAnswer[T events.Validator](ctx context.Context, source string, e event.Event, userID func(T) string,
	run func(context.Context, T) (*event.Event, error)) (*event.Event, error) {
	cmd, err := events.Decode[T](e)
	var reply *event.Event
	if err == nil {
		reply, err = run(ctx, cmd)
	}
	if err != nil {
		return CommandReply(source, e, userID(cmd), err)
	}
	return reply, nil
}

// CommandReply turns a command's outcome into the broker's answer: nothing on success; an
// im.command.rejected reply for a business refusal (the sender hears why, redelivery cannot help);
// the error itself, so the event is redelivered, for an infrastructure failure.
func CommandReply(source string, cmd event.Event, userID string, err error) (*event.Event, error) {
	if err == nil {
		return nil, nil
	}
	var ee *events.Error
	if !errors.As(err, &ee) || ee.Code.Spec().Status >= 500 || ee.Code == events.CodeRateLimited || userID == "" {
		return nil, err
	}
	return serve.Rejection(source, cmd, userID, err)
}
