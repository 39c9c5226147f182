// Command search runs the search function alone (its Knative image): GET /v1/search/messages.
// Environment: boot.Env (MIGRATE=true applies migrations at start) and wire.Search's settings.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("search", boot.Env(os.Getenv), wire.Search) }
