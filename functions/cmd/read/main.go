// Command read runs the read function alone (its Knative image). Environment: boot.Env, the
// shared settings and read's own (README: configuration);
// MIGRATE=true applies migrations at start.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("read", boot.Env(os.Getenv), wire.Read) }
