// Command upload runs the upload function (the sink of the s3.events KafkaSource) alone (its Knative image). Environment: boot.Env (MIGRATE=true
// applies migrations at start) and wire.Upload's settings.
package main

import (
	"os"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/cmd/internal/wire"
)

func main() { boot.Main("upload", boot.Env(os.Getenv), wire.Upload) }
