// Command realtime runs the realtime function alone (its Knative image). Environment: boot.Env (MIGRATE=true
// applies migrations at start) and wire.Realtime's settings.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("realtime", boot.Env(os.Getenv), wire.Realtime) }
