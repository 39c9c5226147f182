// Command identity runs the identity function alone (its Knative image). Environment: boot.Env, the
// shared settings and identity's own (README: configuration). "identity rotate-keys" publishes the
// next signing key and exits.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() {
	cfg := boot.Env(os.Getenv)
	// This image applies the migrations at start whatever MIGRATE says: the chart runs no
	// migration job, and identity (which every client meets first) has always done it.
	cfg.Migrate = true
	if len(os.Args) > 1 && os.Args[1] == "rotate-keys" {
		boot.Task("identity", cfg, rotateKeys)
		return
	}
	boot.Main("identity", cfg, wire.Identity)
}

func rotateKeys(ctx context.Context, d *boot.Deps) error {
	kid, from, err := wire.RotateKeys(ctx, d)
	if err != nil {
		return err
	}
	fmt.Printf("new signing key %s signs from %s\n", kid, from.UTC().Format("2006-01-02T15:04:05Z"))
	return nil
}
