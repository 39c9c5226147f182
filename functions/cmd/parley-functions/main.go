// Command parley-functions runs every Parley function in one process, each on its own listen address,
// the way the local platform stands in for one Knative Service per function. The cluster runs
// functions/cmd/<name> instead, one image per function, over the same builders (functions/cmd/internal/wire).
//
// Environment: boot.Env, the shared settings and every function's own (README: configuration), and
// FUNCTIONS_LISTEN ("name=addr,name=addr": which functions to run, where). Migrations are always applied at start.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() {
	cfg := boot.Env(os.Getenv)
	cfg.Migrate = true
	log := cfg.Logger()
	if err := run(signals.NewContext(), cfg, os.Getenv("FUNCTIONS_LISTEN"), log); err != nil {
		log.Error("parley-functions stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg boot.Config, listen string, log *slog.Logger) error {
	addrs, err := parseListen(listen)
	if err != nil {
		return err
	}
	all := wire.All()
	var fns []boot.Function
	for name, addr := range addrs {
		build, ok := all[name]
		if !ok {
			log.Warn("function not built into this binary; skipped", "function", name)
			continue
		}
		fns = append(fns, boot.Function{Name: name, Addr: addr, Build: build})
	}
	return boot.Run(ctx, cfg, log, fns)
}

// parseListen reads FUNCTIONS_LISTEN: "name=addr,name=addr".
func parseListen(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, addr, ok := strings.Cut(part, "=")
		if !ok || name == "" || addr == "" {
			return nil, fmt.Errorf("FUNCTIONS_LISTEN: %q is not name=addr", part)
		}
		out[name] = addr
	}
	if len(out) == 0 {
		return nil, errors.New("FUNCTIONS_LISTEN names no function")
	}
	return out, nil
}
