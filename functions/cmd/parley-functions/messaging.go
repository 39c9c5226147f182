package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/parley-im/parley/functions/contacts"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/fanout"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/read"
	"github.com/parley-im/parley/functions/revoke"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/functions/sweep"
	"github.com/parley-im/parley/infra/keto"
)

// Builders of the messaging functions (issue 4). Environment: MAX_TEXT_CHARS (default 4000),
// REVOKE_WINDOW (default 2m), MAX_GROUP_CREATE (1000), MAX_GROUP_MEMBERS (10000),
// SWEEP_OLDER_THAN (5s), FAULT_SEND_SKIP_PUBLISH ("true": the fault-test hook, never in production).

// conversationRelations adapts the Keto client to the Conversation namespace.
type conversationRelations struct{ c *keto.Client }

func (r conversationRelations) Grant(ctx context.Context, conv, relation, user string) error {
	return r.c.Grant(ctx, keto.NamespaceConversation, conv, relation, user)
}

func (r conversationRelations) Revoke(ctx context.Context, conv, relation, user string) error {
	return r.c.Revoke(ctx, keto.NamespaceConversation, conv, relation, user)
}

func (r conversationRelations) Check(ctx context.Context, conv, relation, user string) (bool, error) {
	return r.c.Check(ctx, keto.NamespaceConversation, conv, relation, user)
}

// messagingOptions returns the guarded serve options and registers the PostgreSQL fallback of
// Conversation checks.
func (d *deps) messagingOptions(ctx context.Context) (serve.Options, error) {
	g, err := d.authGuard(ctx)
	if err != nil {
		return serve.Options{}, err
	}
	d.fallbacks[keto.NamespaceConversation] = messaging.Roles{Pool: d.pool}
	return serve.Options{Log: d.log, Guard: g.Middleware}, nil
}

func (d *deps) relations() (conversationRelations, error) {
	kc, err := d.keto()
	return conversationRelations{c: kc}, err
}

func buildContacts(ctx context.Context, d *deps) (http.Handler, error) {
	opts, err := d.messagingOptions(ctx)
	if err != nil {
		return nil, err
	}
	ob, err := d.outbox()
	if err != nil {
		return nil, err
	}
	return contacts.New(contacts.Config{}, contacts.Deps{Pool: d.pool, Outbox: ob, Log: d.log}).Mount(ctx, opts)
}

func buildConversations(ctx context.Context, d *deps) (http.Handler, error) {
	opts, err := d.messagingOptions(ctx)
	if err != nil {
		return nil, err
	}
	ob, err := d.outbox()
	if err != nil {
		return nil, err
	}
	rel, err := d.relations()
	if err != nil {
		return nil, err
	}
	cfg := conversations.Config{MaxCreateMembers: intEnv("MAX_GROUP_CREATE", 0), MaxMembers: intEnv("MAX_GROUP_MEMBERS", 0)}
	// Management checks go through the process's Authorizer: its Conversation fallback is
	// messaging.Roles (registered by messagingOptions) and it counts fallbacks in parley_authz_fallback_total.
	return conversations.New(cfg, conversations.Deps{Pool: d.pool, Outbox: ob, Mirror: messaging.NewMirror(rel, d.log),
		Authz: d.guard.Authorizer, Log: d.log}).Mount(ctx, opts)
}

func buildSend(ctx context.Context, d *deps) (http.Handler, error) {
	opts, err := d.messagingOptions(ctx)
	if err != nil {
		return nil, err
	}
	ob, err := d.outbox()
	if err != nil {
		return nil, err
	}
	cfg := send.Config{MaxTextChars: intEnv("MAX_TEXT_CHARS", 0), Topic: d.cfg.brokerTopic,
		FaultSkipPublish: os.Getenv("FAULT_SEND_SKIP_PUBLISH") == "true"}
	return send.New(cfg, send.Deps{Pool: d.pool, Outbox: ob, Log: d.log}).Mount(ctx, opts)
}

func buildRead(ctx context.Context, d *deps) (http.Handler, error) {
	opts, err := d.messagingOptions(ctx)
	if err != nil {
		return nil, err
	}
	ob, err := d.outbox()
	if err != nil {
		return nil, err
	}
	return read.New(read.Deps{Pool: d.pool, Outbox: ob, Log: d.log}).Mount(ctx, opts)
}

func buildRevoke(ctx context.Context, d *deps) (http.Handler, error) {
	opts, err := d.messagingOptions(ctx)
	if err != nil {
		return nil, err
	}
	ob, err := d.outbox()
	if err != nil {
		return nil, err
	}
	window, err := durationEnv("REVOKE_WINDOW", 2*time.Minute)
	if err != nil {
		return nil, err
	}
	return revoke.New(revoke.Config{Window: window}, revoke.Deps{Pool: d.pool, Outbox: ob, Log: d.log}).Mount(ctx, opts)
}

func buildFanout(ctx context.Context, d *deps) (http.Handler, error) {
	if _, err := d.outbox(); err != nil { // builds the process's Kafka writer
		return nil, err
	}
	return fanout.New(fanout.Config{}, fanout.Deps{Pool: d.pool, Publisher: d.publisher, Log: d.log}).
		Mount(ctx, serve.Options{Log: d.log})
}

func buildSweep(ctx context.Context, d *deps) (http.Handler, error) {
	ob, err := d.outbox()
	if err != nil {
		return nil, err
	}
	rel, err := d.relations()
	if err != nil {
		return nil, err
	}
	older, err := durationEnv("SWEEP_OLDER_THAN", 5*time.Second)
	if err != nil {
		return nil, err
	}
	return sweep.New(sweep.Config{OlderThan: older}, sweep.Deps{Pool: d.pool, Outbox: ob,
		Mirror: messaging.NewMirror(rel, d.log), Log: d.log}).Mount(ctx, serve.Options{Log: d.log})
}

func intEnv(key string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(key), &v); err != nil {
		return def
	}
	return v
}
