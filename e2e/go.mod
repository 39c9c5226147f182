module github.com/parley-im/parley/e2e

go 1.26

require github.com/parley-im/parley/events v0.0.0

replace github.com/parley-im/parley/events => ../events
