// Package e2e holds Parley's black-box tests. They drive the running system only through its public
// HTTP and WebSocket API (package client) and live behind the build tag e2e:
//
//	go test -tags e2e ./...                       # starts ../bin/parley-platform with two edges
//	PARLEY_E2E_GATEWAY=http://127.0.0.1:8080 \
//	PARLEY_E2E_EDGES=ws://127.0.0.1:8090,ws://127.0.0.1:8091 go test -tags e2e ./...   # a running platform
//
// Without the tag, go test builds the client and runs its unit tests only.
package e2e
