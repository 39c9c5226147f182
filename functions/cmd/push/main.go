// Command push runs the push function alone (its Knative image). Environment: boot.Env, the
// shared settings and push's own (PUSH_*, FCM_*, APNS_*) (README: configuration);
// MIGRATE=true applies migrations at start.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("push", boot.Env(os.Getenv), wire.Push) }
