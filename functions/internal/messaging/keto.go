package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
)

// Relations writes relation tuples of the Keto Conversation namespace (object = conversation id,
// subject = user id). infra/keto's client satisfies it through a small adapter in the runner.
// Revoking a tuple that does not exist must succeed.
type Relations interface {
	Grant(ctx context.Context, conversationID, relation, userID string) error
	Revoke(ctx context.Context, conversationID, relation, userID string) error
}

// Change is one tuple write of a batch: grant (or revoke) relation on the conversation to UserID.
type Change struct {
	Relation, UserID string
	Grant            bool
}

// BatchRelations is a Relations that can write many tuples of one conversation in one request
// (Keto's PATCH /admin/relation-tuples, all-or-nothing). The Mirror uses it when the Relations it
// was given implements it: a new group of 1,000 members is then a couple of requests, not 1,000.
type BatchRelations interface {
	Relations
	Patch(ctx context.Context, conversationID string, changes []Change) error
}

// batchSize bounds the tuples of one Patch request.
const batchSize = 500

// Keto relations of the Conversation namespace. Every member holds members; an admin also admins;
// the owner all three, so a rule can ask for the least relation it needs.
const (
	RelationMembers = "members"
	RelationAdmins  = "admins"
	RelationOwners  = "owners"
)

var allRelations = []string{RelationMembers, RelationAdmins, RelationOwners}

// RelationsOf returns the relations a role holds (none for "": not a member).
func RelationsOf(role string) []string {
	switch role {
	case events.RoleOwner:
		return allRelations
	case events.RoleAdmin:
		return allRelations[:2]
	case events.RoleMember:
		return allRelations[:1]
	}
	return nil
}

// Permits of the Conversation namespace (infra/platform/keto/namespaces.keto.ts).
const (
	PermitManage   = "manage"   // rename, add and remove members: owner, admins
	PermitOwn      = "own"      // change roles: owner
	PermitRead     = "read"     // any member
	PermitSend     = "send"     // any member
	PermitModerate = "moderate" // revoke anybody's message: owner, admins
)

// RoleHolds reports whether role holds relation, a relation or a permit, as Keto's model answers it.
func RoleHolds(role, relation string) bool {
	switch relation {
	case PermitManage, PermitModerate:
		relation = RelationAdmins
	case PermitOwn:
		relation = RelationOwners
	case PermitRead, PermitSend:
		relation = RelationMembers
	}
	return slices.Contains(RelationsOf(role), relation)
}

// Roles answers relation checks from PostgreSQL. It is the fallback of Keto checks when Keto is
// unreachable (the policy middleware's and the management checks'): PostgreSQL is the source of
// truth Keto mirrors.
type Roles struct{ Pool *pgxpool.Pool }

// HasRelation implements infra/auth's RoleFallback for the Conversation namespace.
func (r Roles) HasRelation(ctx context.Context, _, conversationID, relation, userID string) (bool, error) {
	return r.Check(ctx, conversationID, relation, userID)
}

// Check reports whether userID holds relation (or permit) on the conversation.
func (r Roles) Check(ctx context.Context, conversationID, relation, userID string) (bool, error) {
	role, err := Role(ctx, r.Pool, conversationID, userID)
	if err != nil {
		if events.AsError(err).Code == events.CodeNotFound {
			return false, nil
		}
		return false, err
	}
	return RoleHolds(role, relation), nil
}

// Mirror keeps Keto's copy of conversation roles in step with conversation_members. Grants go to
// PostgreSQL first (with a keto_sync row in the same transaction) and to Keto after commit;
// revocations go to Keto first (fail closed) and to PostgreSQL after. A keto_sync row left behind
// is reconciled by Repair (the sweep). A Mirror without Relations does nothing (Keto not configured).
type Mirror struct {
	rel Relations
	log *slog.Logger
	// parallel bounds concurrent Keto writes of one Apply (a new group can hold 1,000 members).
	parallel int
}

// NewMirror returns a Mirror writing through rel; rel may be nil.
func NewMirror(rel Relations, log *slog.Logger) *Mirror {
	return &Mirror{rel: rel, log: log, parallel: 8}
}

// Pending is the Keto work a transaction queued; Apply it after commit.
type Pending struct {
	conversationID string
	users          []string
	ids            []int64
	// fresh: the users had no tuples before (new members), so nothing needs revoking.
	fresh bool
}

// Queue records in tx that the users' tuples on the conversation must be reconciled.
func (m *Mirror) Queue(ctx context.Context, tx pgx.Tx, conversationID string, fresh bool, users ...string) (Pending, error) {
	p := Pending{conversationID: conversationID, users: users, fresh: fresh}
	if m.rel == nil || len(users) == 0 {
		return p, nil
	}
	rows, err := tx.Query(ctx, `INSERT INTO keto_sync (conversation_id, user_id) SELECT $1, unnest($2::text[]) RETURNING id`,
		conversationID, users)
	if err != nil {
		return p, fmt.Errorf("keto_sync: %w", err)
	}
	p.ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return p, fmt.Errorf("keto_sync: %w", err)
	}
	return p, nil
}

// RevokeFirst removes relations of userID before PostgreSQL forgets them. A failure is unavailable:
// the change must not happen while Keto would still allow it.
func (m *Mirror) RevokeFirst(ctx context.Context, conversationID, userID string, relations ...string) error {
	if m.rel == nil {
		return nil
	}
	for _, r := range relations {
		if err := m.rel.Revoke(ctx, conversationID, r, userID); err != nil {
			return events.Wrap(events.CodeUnavailable, err, "permissions service unavailable; try again")
		}
	}
	return nil
}

// Apply writes the queued tuples to Keto and deletes the keto_sync rows that are done. Failures are
// logged, not returned: the change is committed and Repair finishes the work.
func (m *Mirror) Apply(ctx context.Context, q Querier, p Pending) {
	if m.rel == nil || len(p.ids) == 0 {
		return
	}
	if err := m.reconcile(ctx, q, p.conversationID, p.users, p.fresh); err != nil {
		m.log.WarnContext(ctx, "keto sync failed; the sweep will repair", "conversation", p.conversationID, "err", err)
		return
	}
	if _, err := q.Exec(ctx, `DELETE FROM keto_sync WHERE id = ANY($1)`, p.ids); err != nil {
		m.log.WarnContext(ctx, "keto_sync cleanup failed", "err", err)
	}
}

// reconcile makes Keto hold exactly the relations PostgreSQL gives each user now.
func (m *Mirror) reconcile(ctx context.Context, q Querier, conversationID string, users []string, fresh bool) error {
	rows, err := q.Query(ctx, `SELECT user_id, role FROM conversation_members WHERE conversation_id = $1 AND user_id = ANY($2)`,
		conversationID, users)
	if err != nil {
		return err
	}
	roles := map[string]string{}
	var uid, role string
	if _, err := pgx.ForEachRow(rows, []any{&uid, &role}, func() error { roles[uid] = role; return nil }); err != nil {
		return err
	}
	var ops []Change
	for _, u := range users {
		have := RelationsOf(roles[u])
		for _, r := range allRelations {
			switch {
			case slices.Contains(have, r):
				ops = append(ops, Change{Relation: r, UserID: u, Grant: true})
			case !fresh:
				ops = append(ops, Change{Relation: r, UserID: u})
			}
		}
	}
	if b, ok := m.rel.(BatchRelations); ok {
		for chunk := range slices.Chunk(ops, batchSize) {
			if err := b.Patch(ctx, conversationID, chunk); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, m.parallel)
	)
	for _, o := range ops {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			if o.Grant {
				err = m.rel.Grant(ctx, conversationID, o.Relation, o.UserID)
			} else {
				err = m.rel.Revoke(ctx, conversationID, o.Relation, o.UserID)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return firstErr
}

// Repair reconciles keto_sync rows older than olderThan (at most limit) and returns how many it
// finished.
func (m *Mirror) Repair(ctx context.Context, pool *pgxpool.Pool, olderThan time.Duration, limit int) (int, error) {
	if m.rel == nil {
		return 0, nil
	}
	rows, err := pool.Query(ctx, `SELECT id, conversation_id, user_id FROM keto_sync
		WHERE created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT $2`, olderThan.Seconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("keto_sync: %w", err)
	}
	type key struct{ conv, user string }
	ids := map[key][]int64{}
	var id int64
	var k key
	if _, err := pgx.ForEachRow(rows, []any{&id, &k.conv, &k.user}, func() error {
		ids[k] = append(ids[k], id)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("keto_sync: %w", err)
	}
	n := 0
	for k, rowIDs := range ids {
		if err := m.reconcile(ctx, pool, k.conv, []string{k.user}, false); err != nil {
			return n, fmt.Errorf("keto repair %s: %w", k.conv, err)
		}
		if _, err := pool.Exec(ctx, `DELETE FROM keto_sync WHERE id = ANY($1)`, rowIDs); err != nil {
			return n, fmt.Errorf("keto_sync: %w", err)
		}
		n += len(rowIDs)
	}
	return n, nil
}
