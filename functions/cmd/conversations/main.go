// Command conversations runs the conversations function alone (its Knative image). Environment: boot.Env; MAX_GROUP_CREATE (1000), MAX_GROUP_MEMBERS (10000).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/infra/keto"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "conversations", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("conversations stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, opts, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	cfg := conversations.Config{MaxCreateMembers: d.Cfg.Int("MAX_GROUP_CREATE", 0), MaxMembers: d.Cfg.Int("MAX_GROUP_MEMBERS", 0)}
	return conversations.New(cfg, conversations.Deps{Pool: d.Pool, Outbox: d.Outbox, Authz: g.Authorizer, Log: d.Log,
		Mirror: messaging.NewMirror(keto.Conversations{Client: d.Keto}, d.Log)}).Mount(ctx, opts)
}
