// Command revoke runs the revoke function alone (its Knative image). Environment: boot.Env; REVOKE_WINDOW (2m).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/revoke"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "revoke", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("revoke stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	_, opts, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	window, err := d.Cfg.Duration("REVOKE_WINDOW", 2*time.Minute)
	if err != nil {
		return nil, err
	}
	return revoke.New(revoke.Config{Window: window}, revoke.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, opts)
}
