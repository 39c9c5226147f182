// Command realtime runs the realtime function alone (its Knative image). Environment: boot.Env, the
// shared settings and realtime's own (README: configuration);
// MIGRATE=true applies migrations at start.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("realtime", boot.Env(os.Getenv), wire.Realtime) }
