// Command identity runs the identity function alone (its Knative image). "identity rotate-keys"
// publishes the next signing key and exits.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/infra/httpserver"
)

func main() {
	ctx := signals.NewContext()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := loadConfig()
	if err == nil {
		var a *app
		if a, err = build(ctx, cfg, log); err == nil {
			defer a.close()
			if len(os.Args) > 1 && os.Args[1] == "rotate-keys" {
				kid, from, rerr := a.fn.RotateKeys(ctx)
				if rerr == nil {
					fmt.Printf("new signing key %s signs from %s\n", kid, from.UTC().Format("2006-01-02T15:04:05Z"))
				}
				err = rerr
			} else {
				var srv *httpserver.Server
				if srv, err = httpserver.New(httpserver.Config{Addr: cfg.listen}, a.handler, a.ready, log); err == nil {
					err = srv.Run(ctx)
				}
			}
		}
	}
	if err != nil {
		log.Error("identity stopped", "err", err)
		os.Exit(1)
	}
}
