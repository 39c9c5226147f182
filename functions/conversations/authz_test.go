package conversations_test

import (
	"context"
	"fmt"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/keto/ketotest"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

type downKeto struct{}

func (downKeto) Check(context.Context, string, string, string, string) (bool, error) {
	return false, fmt.Errorf("%w: test", keto.ErrUnavailable)
}

// With Keto unreachable, management checks are decided by PostgreSQL roles and counted once in
// parley_authz_fallback_total (infra/auth's counter: no second instrument here).
func TestManagementFallbackIsCounted(t *testing.T) {
	pool, _ := pgtest.New(t)
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Keto: downKeto{}, Meter: meter, Log: mt.Log(),
		Fallback: auth.Fallbacks{keto.NamespaceConversation: messaging.Roles{Pool: pool}}})
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := mt.Outbox(pool)
	h := conversations.New(conversations.Config{}, conversations.Deps{Pool: pool, Outbox: ob, Authz: az, Log: mt.Log()})
	u := mt.Users(t, pool, 4)
	ctx := context.Background()
	c, err := h.CreateGroup(ctx, u[0], "g", u[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddMembers(ctx, c.ID, u[0], u[2:3]); err != nil {
		t.Fatalf("owner adding with Keto down: %v", err)
	}
	if err := h.AddMembers(ctx, c.ID, u[1], u[3:]); events.AsError(err).Code != events.CodeForbidden {
		t.Fatalf("member adding with Keto down: %v", err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != auth.FallbackMetric {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				ns, _ := dp.Attributes.Value("namespace")
				mode, _ := dp.Attributes.Value("mode")
				if ns.AsString() != keto.NamespaceConversation || mode.AsString() != "fallback" {
					t.Fatalf("unexpected series %v", dp.Attributes)
				}
				total += dp.Value
			}
		}
	}
	if total != 2 {
		t.Fatalf("%s = %d; want 2 (one per management check)", auth.FallbackMetric, total)
	}
}

// TestMirrorWithRealKeto runs the mirror and the management checks against the real Keto binary.
func TestMirrorWithRealKeto(t *testing.T) {
	srv := ketotest.Start(t)
	kc := srv.Client(t)
	pool, _ := pgtest.New(t)
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Keto: kc, Log: mt.Log(),
		Fallback: auth.Fallbacks{keto.NamespaceConversation: messaging.Roles{Pool: pool}}})
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := mt.Outbox(pool)
	rel := keto.Conversations{Client: kc}
	h := conversations.New(conversations.Config{}, conversations.Deps{Pool: pool, Outbox: ob,
		Mirror: messaging.NewMirror(rel, mt.Log()), Authz: az, Log: mt.Log()})
	u := mt.Users(t, pool, 3)
	ctx := context.Background()
	c, err := h.CreateGroup(ctx, u[0], "g", u[1:])
	if err != nil {
		t.Fatal(err)
	}
	check := func(rel, user string, want bool) {
		t.Helper()
		ok, err := rel2(ctx, rel, c.ID, user, kc)
		if err != nil || ok != want {
			t.Fatalf("keto %s@%s = %v %v; want %v", rel, user, ok, err, want)
		}
	}
	check(messaging.PermitManage, u[0], true)
	check(messaging.PermitManage, u[1], false)
	check(messaging.RelationMembers, u[1], true)
	if err := h.SetRole(ctx, c.ID, u[0], u[1], events.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	check(messaging.PermitManage, u[1], true)
	// The new admin manages through Keto.
	if err := h.RemoveMember(ctx, c.ID, u[1], u[2]); err != nil {
		t.Fatal(err)
	}
	check(messaging.RelationMembers, u[2], false)
	if n := ketoSyncRows(t, pool); n != 0 {
		t.Fatalf("%d keto_sync rows left", n)
	}
}

func rel2(ctx context.Context, relation, conv, user string, kc *keto.Client) (bool, error) {
	return kc.Check(ctx, keto.NamespaceConversation, conv, relation, user)
}
