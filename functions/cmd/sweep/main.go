// Command sweep runs the sweep function alone (its Knative image). Environment: boot.Env, the
// shared settings and sweep's own (README: configuration);
// MIGRATE=true applies migrations at start.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("sweep", boot.Env(os.Getenv), wire.Sweep) }
