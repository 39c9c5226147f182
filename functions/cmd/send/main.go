// Command send runs the send function alone (its Knative image). Environment: boot.Env; MAX_TEXT_CHARS (4000).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/send"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "send", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("send stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	_, opts, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	cfg := send.Config{MaxTextChars: d.Cfg.Int("MAX_TEXT_CHARS", 0), Topic: d.Cfg.BrokerTopic}
	return send.New(cfg, send.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, opts)
}
