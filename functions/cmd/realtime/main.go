// Command realtime runs the realtime function alone (its Knative image): typing and call signaling
// commands, GET /v1/presence, GET /v1/calls/ice-servers, and the ring-timeout sweep.
// Environment: boot.Env; realtime.FromEnv (ICE_SERVERS, TURN_SECRET, CALL_RING_TIMEOUT...).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/realtime"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "realtime", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("realtime stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	cfg, err := realtime.FromEnv(d.Cfg.Get, d.Cfg.RedisPrefix)
	if err != nil {
		return nil, err
	}
	_, opts, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	h := realtime.New(cfg, realtime.Deps{Pool: d.Pool, Redis: d.Redis, Publisher: d.Writer, Log: d.Log})
	go h.Run(ctx) // ring timeouts; ends with ctx
	return h.Mount(ctx, opts)
}
