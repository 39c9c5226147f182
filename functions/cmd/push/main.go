// Command push runs the push function alone (its Knative image). Environment: boot.Env (MIGRATE=true
// applies migrations at start) and wire.Push's settings (PUSH_*, FCM_*, APNS_*).
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("push", boot.Env(os.Getenv), wire.Push) }
