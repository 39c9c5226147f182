// Package bans is the one path that bans and unbans a user, shared by identity's admin routes
// (POST/DELETE /v1/admin/users/{id}/ban) and the reports queue's ban_user resolution, so a ban
// from a report is exactly an admin ban: Keto first, then PostgreSQL's mirror and the sockets.
package bans

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
)

// RoleStore writes Keto relation tuples (*keto.Client).
type RoleStore interface {
	Grant(ctx context.Context, namespace, object, relation, subjectID string) error
	Revoke(ctx context.Context, namespace, object, relation, subjectID string) error
}

// Bumper invalidates the verifiers' cached ban answers (*auth.Revocations).
type Bumper interface {
	BumpBans(ctx context.Context) error
}

// Outbox runs a transaction whose emitted facts commit with it and are published after commit
// (*postgres.Outbox).
type Outbox interface {
	InTx(ctx context.Context, fn func(tx pgx.Tx, emit postgres.Emit) error) error
}

// Bans bans and unbans. Source is the CloudEvents source of the facts it writes (the caller's).
type Bans struct {
	Pool   *pgxpool.Pool
	Outbox Outbox
	Roles  RoleStore
	Bumper Bumper
	Source string
	Log    *slog.Logger
}

// Ban bans userID: Keto first (the ban is in force from there on), then PostgreSQL's banned_at
// (the fallback's mirror) and im.session.revoked, on which the edge closes the user's sockets with
// 4003. Tokens stay valid but every request is refused while the ban lasts, so an unban restores
// access without a new login. Banning a banned user changes nothing but emits the revocation again.
func (b *Bans) Ban(ctx context.Context, userID string) error {
	if err := b.Roles.Grant(ctx, keto.NamespaceSystem, keto.SystemObject, keto.RelationBanned, userID); err != nil {
		return ketoErr(err)
	}
	b.bump(ctx)
	ev, err := events.New(uuid.Must(uuid.NewV7()).String(), b.Source, events.TypeSessionRevoked, userID,
		events.SessionRevoked{UserID: userID, Reason: events.SessionEndBanned})
	if err != nil {
		return err
	}
	return b.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET banned_at = coalesce(banned_at, now()) WHERE id = $1`, userID); err != nil {
			return fmt.Errorf("ban: %w", err)
		}
		emit(ev)
		return nil
	})
}

// Unban lifts the ban: Keto first, then the mirror.
func (b *Bans) Unban(ctx context.Context, userID string) error {
	if err := b.Roles.Revoke(ctx, keto.NamespaceSystem, keto.SystemObject, keto.RelationBanned, userID); err != nil {
		return ketoErr(err)
	}
	b.bump(ctx)
	if _, err := b.Pool.Exec(ctx, `UPDATE users SET banned_at = NULL WHERE id = $1`, userID); err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	return nil
}

// bump invalidates cached ban answers; without Redis they are not cached at all.
func (b *Bans) bump(ctx context.Context) {
	if b.Bumper == nil {
		return
	}
	if err := b.Bumper.BumpBans(ctx); err != nil {
		b.Log.WarnContext(ctx, "bans version bump failed", "err", err)
	}
}

func ketoErr(err error) error {
	if errors.Is(err, keto.ErrUnavailable) {
		e := events.Wrap(events.CodeUnavailable, err, "temporarily unavailable, retry shortly")
		e.RetryAfter = time.Second
		return e
	}
	return err
}
