// Command sweep runs the sweep function alone (its Knative image). Environment: boot.Env; SWEEP_OLDER_THAN (5s).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/sweep"
	"github.com/parley-im/parley/infra/keto"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "sweep", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("sweep stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	older, err := d.Cfg.Duration("SWEEP_OLDER_THAN", 5*time.Second)
	if err != nil {
		return nil, err
	}
	return sweep.New(sweep.Config{OlderThan: older}, sweep.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log,
		Mirror: messaging.NewMirror(keto.Conversations{Client: d.Keto}, d.Log)}).Mount(ctx, serve.Options{Log: d.Log})
}
