package platform

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	goredis "github.com/redis/go-redis/v9"
)

// ErrDependency wraps every "a required server is not there" failure, so callers (main, tests) can
// tell it from a bug.
var ErrDependency = errors.New("platform dependency missing")

// checkDependencies verifies PostgreSQL and Redis answer, and reports both problems at once with
// how to fix them; nothing is started before this passes.
func checkDependencies(ctx context.Context, cfg Config) error {
	var problems []string
	if err := pingPostgres(ctx, cfg.DatabaseURL); err != nil {
		problems = append(problems, fmt.Sprintf(
			"PostgreSQL is not reachable at %s (DATABASE_URL): %v\n"+
				"    start it:  pg_ctlcluster <version> main start   (Debian/Ubuntu; see pg_lsclusters)\n"+
				"          or:  service postgresql start\n"+
				"    or point DATABASE_URL at a server that runs (user with CREATEDB, e.g. postgres, trust auth locally)",
			redactURL(cfg.DatabaseURL), err))
	}
	if err := pingRedis(ctx, cfg.RedisAddr); err != nil {
		problems = append(problems, fmt.Sprintf(
			"Redis is not reachable at %s (REDIS_ADDR): %v\n"+
				"    start it:  redis-server --daemonize yes   (or: service redis-server start)\n"+
				"    or point REDIS_ADDR at a server that runs",
			cfg.RedisAddr, err))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w:\n  - %s", ErrDependency, strings.Join(problems, "\n  - "))
	}
	return nil
}

func pingPostgres(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// Connect to the maintenance database: the application database may not exist yet.
	cfg, err := maintenanceConfig(dsn)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func maintenanceConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.Database = "postgres"
	cfg.ConnectTimeout = 3 * time.Second
	return cfg, nil
}

// ensureDatabase creates database name on the server of dsn unless it exists.
func ensureDatabase(ctx context.Context, dsn, name string) error {
	cfg, err := maintenanceConfig(dsn)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to create database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// databaseName is the database part of a PostgreSQL URL or keyword DSN.
func databaseName(dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if cfg.Database == "" {
		return "", errors.New("DATABASE_URL names no database")
	}
	return cfg.Database, nil
}

// withDatabase returns the URL dsn pointing at database name instead (Keto's DSN).
func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("DATABASE_URL must be a postgres:// URL to derive Keto's DSN")
	}
	u.Path = "/" + name
	return u.String(), nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

func pingRedis(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: 2 * time.Second, MaxRetries: -1})
	defer c.Close()
	return c.Ping(ctx).Err()
}
