//go:build tools

// Package tools pins the kubeconform module so `go build github.com/yannh/kubeconform/cmd/kubeconform` resolves it.
package tools

import _ "github.com/yannh/kubeconform/cmd/kubeconform"
