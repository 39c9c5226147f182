// Command parley-functions runs every Parley function in one process, each on its own listen address,
// the way the local platform stands in for one Knative Service per function. The cluster runs
// functions/cmd/<name> instead, one image per function, over the same builders.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"
	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/infra/httpserver"
)

// builder constructs one function's handler from the shared dependencies.
type builder func(ctx context.Context, d *deps) (http.Handler, error)

// builders lists the functions this process can run. Each function's file adds its own line.
func builders() map[string]builder {
	return map[string]builder{
		"identity":      buildIdentity,
		"contacts":      buildContacts,
		"conversations": buildConversations,
		"send":          buildSend,
		"read":          buildRead,
		"revoke":        buildRevoke,
		"fanout":        buildFanout,
		"sweep":         buildSweep,
		"files":         buildFiles,
		"upload":        buildUpload,
		"realtime":      buildRealtime,
	}
}

func main() {
	ctx := signals.NewContext()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(os.Getenv("LOG_LEVEL"))}))
	if err := run(ctx, log); err != nil {
		log.Error("parley-functions stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	d, err := newDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.close()
	all := builders()
	g, gctx := errgroup.WithContext(ctx)
	for name, addr := range cfg.listen {
		build, ok := all[name]
		if !ok {
			log.Warn("function not built into this binary; skipped", "function", name)
			continue
		}
		h, err := build(ctx, d)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		srv, err := httpserver.New(httpserver.Config{Addr: addr}, h, d.ready, log.With("function", name))
		if err != nil {
			return err
		}
		log.Info("function listening", "function", name, "addr", srv.Addr())
		g.Go(func() error { return srv.Run(gctx) })
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// parseListen reads "name=addr,name=addr".
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

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
