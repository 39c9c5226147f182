// Package redis opens the go-redis client. Redis holds only ephemeral state (presence, rate limits,
// denylist, tickets, call state): losing it degrades Parley, never corrupts it.
package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Config of the client.
type Config struct {
	Addr     string // host:port
	Password string
	DB       int
	// Prefix is put before every key this process writes ("parley:"); tests use their own.
	Prefix string
}

// Open connects and pings.
func Open(ctx context.Context, cfg Config) (*goredis.Client, error) {
	c := goredis.NewClient(&goredis.Options{
		Addr:         cfg.Addr,
		Password:     cfg.Password,
		DB:           cfg.DB,
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
