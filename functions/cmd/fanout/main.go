// Command fanout runs the fanout function alone (its Knative image). Environment: boot.Env; DELIVERY_TOPIC (im.delivery).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/fanout"
	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/internal/serve"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "fanout", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("fanout stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	cfg := fanout.Config{Topic: d.Cfg.Get("DELIVERY_TOPIC")}
	return fanout.New(cfg, fanout.Deps{Pool: d.Pool, Publisher: d.Writer, Log: d.Log}).Mount(ctx, serve.Options{Log: d.Log})
}
