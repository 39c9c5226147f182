// Command parley-web serves the browser client's build (web/dist) with the same handler the local
// platform's gateway uses (infra/webui): the chart runs it as the Knative Service "web". The image
// carries the build as ko data (copy web/dist to infra/cmd/parley-web/kodata/ before `ko build`).
//
// Environment:
//
//	PORT       8080                       listen port (Knative sets it)
//	WEB_DIR    $KO_DATA_PATH, else web/dist   the built client
//	LOG_LEVEL  info
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/parley-im/parley/infra/httpserver"
	"github.com/parley-im/parley/infra/webui"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "parley-web:", err)
		os.Exit(1)
	}
}

func run() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	dir := env("WEB_DIR", env("KO_DATA_PATH", "web/dist"))
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return fmt.Errorf("no web client build in %s (npm run build in web/): %w", dir, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := httpserver.New(httpserver.Config{Addr: ":" + env("PORT", "8080"), Name: "web"}, webui.Handler(dir), nil, log)
	if err != nil {
		return err
	}
	log.Info("serving the web client", "addr", srv.Addr(), "dir", dir)
	return srv.Run(ctx)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
