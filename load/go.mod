module github.com/parley-im/parley/load

go 1.26

require github.com/parley-im/parley/events v0.0.0

replace github.com/parley-im/parley/events => ../events
