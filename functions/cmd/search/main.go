// Command search runs the search function alone (its Knative image). Environment: boot.Env, the
// shared settings and search's own (README: configuration);
// MIGRATE=true applies migrations at start.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("search", boot.Env(os.Getenv), wire.Search) }
