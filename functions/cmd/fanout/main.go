// Command fanout runs the fanout function alone (its Knative image). Environment: boot.Env (MIGRATE=true
// applies migrations at start) and wire.Fanout's settings.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("fanout", boot.Env(os.Getenv), wire.Fanout) }
