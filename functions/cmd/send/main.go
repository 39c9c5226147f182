// Command send runs the send function alone (its Knative image). Environment: boot.Env (MIGRATE=true
// applies migrations at start) and wire.Send's settings.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("send", boot.Env(os.Getenv), wire.Send) }
