// Command read runs the read function alone (its Knative image). Environment: boot.Env.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/read"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "read", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("read stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	_, opts, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return read.New(read.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, opts)
}
