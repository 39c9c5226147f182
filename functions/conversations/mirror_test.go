package conversations_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/sweep"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// fakeRelations records Keto writes and, for each, whether PostgreSQL had the member's row at that
// moment (committed, seen from another connection): the ordering the mirror promises.
type fakeRelations struct {
	pool   *pgxpool.Pool
	mu     sync.Mutex
	tuples map[string]bool // "conv#relation@user"
	log    []string        // "grant|revoke conv#rel@user pg=<row present>"
	fail   error
	// batch, when set, makes the fake a messaging.BatchRelations.
	patches int
}

func (f *fakeRelations) pgHas(ctx context.Context, conv, user string) bool {
	var ok bool
	_ = f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2)`,
		conv, user).Scan(&ok)
	return ok
}

func (f *fakeRelations) write(ctx context.Context, grant bool, conv, rel, user string) error {
	has := f.pgHas(ctx, conv, user)
	f.mu.Lock()
	defer f.mu.Unlock()
	verb := "revoke"
	if grant {
		verb = "grant"
	}
	f.log = append(f.log, fmt.Sprintf("%s %s#%s@%s pg=%v", verb, conv, rel, user, has))
	if f.fail != nil {
		return f.fail
	}
	key := conv + "#" + rel + "@" + user
	if grant {
		f.tuples[key] = true
	} else {
		delete(f.tuples, key)
	}
	return nil
}

func (f *fakeRelations) Grant(ctx context.Context, conv, rel, user string) error {
	return f.write(ctx, true, conv, rel, user)
}

func (f *fakeRelations) Revoke(ctx context.Context, conv, rel, user string) error {
	return f.write(ctx, false, conv, rel, user)
}

func (f *fakeRelations) setFail(err error) { f.mu.Lock(); f.fail = err; f.mu.Unlock() }

func (f *fakeRelations) has(conv, rel, user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tuples[conv+"#"+rel+"@"+user]
}

func (f *fakeRelations) entries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// batchRelations is fakeRelations with Patch.
type batchRelations struct{ *fakeRelations }

func (b batchRelations) Patch(ctx context.Context, conv string, cs []messaging.Change) error {
	b.mu.Lock()
	b.patches++
	b.mu.Unlock()
	for _, c := range cs {
		if err := b.write(ctx, c.Grant, conv, c.Relation, c.UserID); err != nil {
			return err
		}
	}
	return nil
}

func mirrorEnv(t *testing.T, rel messaging.Relations) (*conversations.Handler, *pgxpool.Pool) {
	pool := poolFor(t, rel)
	ob, _ := mt.Outbox(pool)
	h := conversations.New(conversations.Config{}, conversations.Deps{Pool: pool, Outbox: ob,
		Mirror: messaging.NewMirror(rel, mt.Log()), Log: mt.Log()})
	return h, pool
}

// poolFor hands the fake the test database, so it can observe PostgreSQL at each Keto write.
func poolFor(t *testing.T, rel messaging.Relations) *pgxpool.Pool {
	pool, _ := pgtest.New(t)
	switch f := rel.(type) {
	case *fakeRelations:
		f.pool = pool
	case batchRelations:
		f.pool = pool
	}
	return pool
}

func ketoSyncRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM keto_sync`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMirrorGrantsAfterPostgres(t *testing.T) {
	fake := &fakeRelations{tuples: map[string]bool{}}
	h, pool := mirrorEnv(t, fake)
	u := mt.Users(t, pool, 3)
	ctx := context.Background()
	c, err := h.CreateGroup(ctx, u[0], "g", u[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddMembers(ctx, c.ID, u[0], u[2:]); err != nil {
		t.Fatal(err)
	}
	log := fake.entries()
	if len(log) != 5 { // owner: members, admins, owners; two members: members
		t.Fatalf("keto writes %v", log)
	}
	for _, l := range log {
		if l[:5] != "grant" || l[len(l)-7:] != "pg=true" {
			t.Fatalf("a grant reached Keto before PostgreSQL committed it: %s", l)
		}
	}
	for _, r := range []string{messaging.RelationMembers, messaging.RelationAdmins, messaging.RelationOwners} {
		if !fake.has(c.ID, r, u[0]) {
			t.Fatalf("owner lacks %s", r)
		}
	}
	if !fake.has(c.ID, messaging.RelationMembers, u[2]) || fake.has(c.ID, messaging.RelationAdmins, u[2]) {
		t.Fatal("member tuples wrong")
	}
	if n := ketoSyncRows(t, pool); n != 0 {
		t.Fatalf("%d keto_sync rows left after successful writes", n)
	}
}

func TestMirrorRevokesBeforePostgres(t *testing.T) {
	fake := &fakeRelations{tuples: map[string]bool{}}
	h, pool := mirrorEnv(t, fake)
	u := mt.Users(t, pool, 3)
	ctx := context.Background()
	c, err := h.CreateGroup(ctx, u[0], "g", u[1:])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetRole(ctx, c.ID, u[0], u[1], events.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	before := len(fake.entries())
	if err := h.RemoveMember(ctx, c.ID, u[0], u[1]); err != nil {
		t.Fatal(err)
	}
	log := fake.entries()[before:]
	want := []string{
		fmt.Sprintf("revoke %s#admins@%s pg=true", c.ID, u[1]), // strongest first, while PostgreSQL still has the member
		fmt.Sprintf("revoke %s#members@%s pg=true", c.ID, u[1]),
	}
	if !slices.Equal(log, want) {
		t.Fatalf("revocation writes %v; want %v", log, want)
	}

	// Keto down: the removal fails closed (503) and PostgreSQL keeps the member.
	fake.setFail(errors.New("keto unavailable"))
	err = h.RemoveMember(ctx, c.ID, u[0], u[2])
	if events.AsError(err).Code != events.CodeUnavailable {
		t.Fatalf("removal with Keto down: %v", err)
	}
	if role, err := messaging.Role(ctx, pool, c.ID, u[2]); err != nil || role != events.RoleMember {
		t.Fatalf("member removed from PostgreSQL despite the Keto failure: %q %v", role, err)
	}
}

func TestMirrorRepairsFailedWrites(t *testing.T) {
	fake := &fakeRelations{tuples: map[string]bool{}}
	h, pool := mirrorEnv(t, fake)
	u := mt.Users(t, pool, 3)
	ctx := context.Background()
	fake.setFail(errors.New("keto unavailable"))
	c, err := h.CreateGroup(ctx, u[0], "g", u[1:])
	if err != nil {
		t.Fatalf("a failed Keto grant must not fail the committed creation: %v", err)
	}
	if n := ketoSyncRows(t, pool); n != 3 {
		t.Fatalf("%d keto_sync rows; want one per member", n)
	}
	// Keto is back; the sweep repairs.
	fake.setFail(nil)
	ob, _ := mt.Outbox(pool)
	sw := sweep.New(sweep.Config{OlderThan: time.Nanosecond}, sweep.Deps{Pool: pool, Outbox: ob,
		Mirror: messaging.NewMirror(fake, mt.Log()), Log: mt.Log()})
	if _, err := sw.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ketoSyncRows(t, pool); n != 0 {
		t.Fatalf("%d keto_sync rows after repair", n)
	}
	for _, m := range u {
		if !fake.has(c.ID, messaging.RelationMembers, m) {
			t.Fatalf("%s not repaired", m)
		}
	}
	if !fake.has(c.ID, messaging.RelationOwners, u[0]) || fake.has(c.ID, messaging.RelationAdmins, u[1]) {
		t.Fatal("repair wrote the wrong relations")
	}
}

func TestMirrorBatchesLargeGroups(t *testing.T) {
	fake := batchRelations{&fakeRelations{tuples: map[string]bool{}}}
	h, pool := mirrorEnv(t, fake)
	u := mt.Users(t, pool, 1001)
	c, err := h.CreateGroup(context.Background(), u[0], "big", u[1:])
	if err != nil {
		t.Fatal(err)
	}
	// 1,000 members + the owner's 3 relations = 1,003 tuples in ceil(1003/500) = 3 requests.
	if fake.patches != 3 || len(fake.entries()) != 1003 {
		t.Fatalf("%d patches, %d tuples", fake.patches, len(fake.entries()))
	}
	if !fake.has(c.ID, messaging.RelationMembers, u[1000]) || ketoSyncRows(t, pool) != 0 {
		t.Fatal("batch incomplete")
	}
}
