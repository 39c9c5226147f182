package keto

import "github.com/parley-im/parley/infra/envconf"

// Environment variables FromEnv reads, and their defaults: the local platform's Keto.
const (
	EnvReadURL      = "KETO_READ_URL"
	EnvWriteURL     = "KETO_WRITE_URL"
	DefaultReadURL  = "http://127.0.0.1:4466"
	DefaultWriteURL = "http://127.0.0.1:4467"
)

// FromEnv reads KETO_READ_URL and KETO_WRITE_URL (defaults: the local platform's Keto). The other
// fields are left zero for their documented defaults.
func FromEnv(r *envconf.Reader) Config {
	return Config{ReadURL: r.String(EnvReadURL, DefaultReadURL), WriteURL: r.String(EnvWriteURL, DefaultWriteURL)}
}
