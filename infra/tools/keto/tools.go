//go:build tools

// Package tools pins the Keto server module so `go build github.com/ory/keto` resolves it.
package tools

import _ "github.com/ory/keto"
