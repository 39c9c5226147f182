// Package redis opens the go-redis client. Redis holds only ephemeral state (presence, rate limits,
// denylist, tickets, call state): losing it degrades Parley, never corrupts it.
package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/infra/envconf"
)

// Config of the client.
type Config struct {
	Addr string // host:port
	// Username/Password authenticate with AUTH: an ACL user (Redis 6+, ElastiCache RBAC) when
	// Username is set, the default user's password otherwise.
	Username string
	Password string
	DB       int
	// Prefix is put before every key this process writes (DefaultPrefix); tests use their own.
	Prefix string
	// TLS encrypts the connection (ElastiCache in-transit encryption, Memorystore, Azure Cache).
	TLS bool
	// CAFile is a PEM bundle of the CAs that sign the server's certificate; empty = system roots.
	CAFile string
	// ServerName overrides the name checked in the server's certificate; empty = Addr's host.
	ServerName string
}

// DefaultPrefix is the key prefix when REDIS_PREFIX is unset. Every process that shares Redis state
// (the functions, the socket-edges) must use the same prefix.
const DefaultPrefix = "parley:"

// Environment variables FromEnv reads.
const (
	EnvAddr          = "REDIS_ADDR"
	EnvPrefix        = "REDIS_PREFIX"
	EnvUsername      = "REDIS_USERNAME"
	EnvPassword      = "REDIS_PASSWORD"
	EnvTLS           = "REDIS_TLS"
	EnvTLSCAFile     = "REDIS_TLS_CA_FILE"
	EnvTLSServerName = "REDIS_TLS_SERVER_NAME"
)

// FromEnv reads REDIS_ADDR (127.0.0.1:6379), REDIS_PREFIX (DefaultPrefix), REDIS_USERNAME,
// REDIS_PASSWORD, REDIS_TLS (true|false, default false), REDIS_TLS_CA_FILE and
// REDIS_TLS_SERVER_NAME.
func FromEnv(r *envconf.Reader) Config {
	return Config{Addr: r.String(EnvAddr, "127.0.0.1:6379"), Prefix: r.String(EnvPrefix, DefaultPrefix),
		Username: r.String(EnvUsername, ""), Password: r.String(EnvPassword, ""), TLS: r.Bool(EnvTLS, false),
		CAFile: r.String(EnvTLSCAFile, ""), ServerName: r.String(EnvTLSServerName, "")}
}

// tlsConfig builds the client's TLS configuration (nil without TLS).
func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		if c.CAFile != "" || c.ServerName != "" {
			return nil, errors.New("redis: TLS settings given but TLS is off (set REDIS_TLS=true)")
		}
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if tc.ServerName == "" {
		// go-redis dials with tls.Client, which needs the name to verify.
		host, _, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return nil, fmt.Errorf("redis addr %q: %w", c.Addr, err)
		}
		tc.ServerName = host
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis TLS CA file %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Open connects and pings.
func Open(ctx context.Context, cfg Config) (*goredis.Client, error) {
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Username != "" && cfg.Password == "" {
		return nil, errors.New("redis: REDIS_USERNAME without REDIS_PASSWORD")
	}
	c := goredis.NewClient(&goredis.Options{
		Addr:         cfg.Addr,
		Username:     cfg.Username,
		Password:     cfg.Password,
		DB:           cfg.DB,
		TLSConfig:    tc,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		PoolSize:     64,
	})
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis ping %s: %w", cfg.Addr, err)
	}
	return c, nil
}
