package keto_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/keto/ketotest"
	"github.com/parley-im/parley/infra/resilience"
)

func TestGrantCheckRevoke(t *testing.T) {
	srv := ketotest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()

	if err := c.Grant(ctx, keto.NamespaceConversation, "c1", keto.RelationAdmins, "u1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rel  string
		user string
		want bool
	}{
		{"manage", "u1", true}, {"read", "u1", true}, {"own", "u1", false}, {"manage", "u2", false},
	} {
		got, err := c.Check(ctx, keto.NamespaceConversation, "c1", tc.rel, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("check %s %s = %v, %v; want %v", tc.rel, tc.user, got, err, tc.want)
		}
	}
	if err := c.Revoke(ctx, keto.NamespaceConversation, "c1", keto.RelationAdmins, "u1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Check(ctx, keto.NamespaceConversation, "c1", "manage", "u1"); err != nil || ok {
		t.Fatalf("after revoke: %v %v", ok, err)
	}
	// A definitive refusal (unknown relation) is an error but not an outage.
	if _, err := c.Check(ctx, keto.NamespaceConversation, "c1", "nope", "u1"); err == nil || errors.Is(err, keto.ErrUnavailable) {
		t.Fatalf("unknown relation: %v", err)
	}
}

func TestOutageIsUnavailableAndRecovers(t *testing.T) {
	srv := ketotest.Start(t)
	cfg := srv.Config()
	cfg.Breaker = resilience.BreakerConfig{Failures: 2, Window: 2, Delay: 200 * time.Millisecond, Successes: 1}
	c, err := keto.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv.Stop()
	for range 4 {
		if _, err := c.Check(ctx, keto.NamespaceRole, keto.RoleAdmin, keto.RelationMembers, "u1"); !errors.Is(err, keto.ErrUnavailable) {
			t.Fatalf("keto down: %v, want ErrUnavailable", err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Check(ctx, keto.NamespaceRole, keto.RoleAdmin, keto.RelationMembers, "u1")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
