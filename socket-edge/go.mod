module github.com/parley-im/parley/socket-edge

go 1.26

require (
	github.com/parley-im/parley/events v0.0.0
	github.com/parley-im/parley/infra v0.0.0
)

replace (
	github.com/parley-im/parley/events => ../events
	github.com/parley-im/parley/infra => ../infra
)
