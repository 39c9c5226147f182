// Command annotate runs the annotate function alone (its Knative image): edits, reactions and pins.
// Environment: boot.Env (MIGRATE=true applies migrations at start) and wire.Annotate's settings.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("annotate", boot.Env(os.Getenv), wire.Annotate) }
