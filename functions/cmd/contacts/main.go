// Command contacts runs the contacts function alone (its Knative image). Environment: boot.Env, the
// shared settings and contacts's own (README: configuration);
// MIGRATE=true applies migrations at start.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("contacts", boot.Env(os.Getenv), wire.Contacts) }
