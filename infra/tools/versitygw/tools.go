//go:build tools

// Package tools pins the versitygw module so `go build github.com/versity/versitygw/cmd/versitygw` resolves it.
package tools

import _ "github.com/versity/versitygw/cmd/versitygw"
