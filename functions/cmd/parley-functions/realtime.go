package main

import (
	"context"
	"net/http"
	"os"

	"github.com/parley-im/parley/functions/realtime"
)

// buildRealtime is the realtime function (issue 5): typing and call signaling commands, presence and
// ICE servers routes, and the ring-timeout sweep (runs until ctx ends). Environment: realtime.FromEnv
// (ICE_SERVERS, TURN_SECRET, TURN_TTL, CALL_RING_TIMEOUT, CALL_MAX_DURATION, PRESENCE_MAX_IDS,
// TYPING_MAX_RECIPIENTS, DELIVERY_TOPIC).
func buildRealtime(ctx context.Context, d *deps) (http.Handler, error) {
	cfg, err := realtime.FromEnv(os.Getenv, d.cfg.redisPrefix)
	if err != nil {
		return nil, err
	}
	opts, err := d.messagingOptions(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := d.outbox(); err != nil { // builds the process's Kafka writer
		return nil, err
	}
	h := realtime.New(cfg, realtime.Deps{Pool: d.pool, Redis: d.redis, Publisher: d.publisher, Log: d.log.With("function", "realtime")})
	go h.Run(ctx)
	return h.Mount(ctx, opts)
}
