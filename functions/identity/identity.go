// Package identity is Parley's identity function and OIDC issuer: accounts (register, login, profile,
// deletion), sessions (access tokens signed with rotating ES256 keys kept in PostgreSQL, opaque refresh
// tokens rotated on every use and grouped in families), WebSocket tickets, and the admin routes that
// ban users and grant system roles in Keto. Facts leave through the outbox.
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/functions/internal/bans"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/resilience"
)

// Source is the CloudEvents source of identity's facts.
const Source = "/functions/identity"

// Config of the function. Zero values take the documented defaults.
type Config struct {
	// Issuer is the OIDC issuer URL ("iss"; discovery lives under it). Required.
	Issuer string
	// Audience of the access tokens ("aud"); default "parley".
	Audience string
	// AccessTTL default 15m; RefreshTTL (idle lifetime of a refresh token) default 30 days;
	// SessionTTL (absolute lifetime of a family) default 90 days.
	AccessTTL, RefreshTTL, SessionTTL time.Duration
	// KeyPublishDelay is how long a rotated-in key is published before it signs (verifiers' JWKS caches
	// must see it first); default 10m.
	KeyPublishDelay time.Duration
	// KeyRefresh is how often an instance reloads the key set (other instances rotate); default 30s.
	KeyRefresh time.Duration
	// KeyEncryptionKey seals private signing keys at rest (AES-256-GCM over SHA-256 of it); empty
	// stores them unsealed (dev only).
	KeyEncryptionKey []byte
	// Password are the argon2id costs; default DefaultPasswordParams.
	Password PasswordParams
	// MaxHashing bounds concurrent password hashes (each holds Password.MemoryKiB); default 2 x CPUs.
	MaxHashing uint
	// LoginPerUsername / LoginPerIP limit failed logins; defaults 5 at once then 1/min per username,
	// 50 at once then 1 per 6s per IP.
	LoginPerUsername, LoginPerIP ratelimit.Limit
	// TrustForwardedFor: take the client IP from X-Forwarded-For (behind the gateway).
	TrustForwardedFor bool
	// AdminUsernames receive the admin role when they register (bootstrap of the first admin).
	AdminUsernames []string
}

func (c *Config) setDefaults() error {
	if c.Issuer == "" {
		return errors.New("identity: Issuer is required")
	}
	if c.Audience == "" {
		c.Audience = "parley"
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 90 * 24 * time.Hour
	}
	if c.KeyPublishDelay == 0 {
		c.KeyPublishDelay = 10 * time.Minute
	}
	if c.KeyRefresh == 0 {
		c.KeyRefresh = 30 * time.Second
	}
	c.Password = c.Password.orDefault()
	if c.MaxHashing == 0 {
		c.MaxHashing = uint(2 * runtime.NumCPU())
	}
	if !c.LoginPerUsername.Valid() {
		c.LoginPerUsername = ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 5}
	}
	if !c.LoginPerIP.Valid() {
		c.LoginPerIP = ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 50}
	}
	return nil
}

// RoleStore writes and reads system roles and bans in Keto (*keto.Client satisfies it).
type RoleStore interface {
	Grant(ctx context.Context, namespace, object, relation, subjectID string) error
	Revoke(ctx context.Context, namespace, object, relation, subjectID string) error
}

// ObjectStore deletes stored file objects (*s3.Client satisfies it): erasure removes everything
// under the user's key prefix, uploads and thumbnails alike.
type ObjectStore interface {
	DeletePrefix(ctx context.Context, prefix string) (int, error)
}

// Deps are identity's clients. Objects may be nil only where no file storage is configured (some
// tests): erasure then deletes no objects.
type Deps struct {
	Pool        *pgxpool.Pool
	Outbox      *postgres.Outbox
	Revocations *auth.Revocations
	Tickets     *auth.Tickets
	Limiter     *ratelimit.Limiter
	Roles       RoleStore
	Authorizer  *auth.Authorizer
	Objects     ObjectStore
	Log         *slog.Logger
}

// Function is the identity function.
type Function struct {
	cfg     Config
	d       Deps
	store   store
	keys    *keyring
	dummy   string // hash of a random password: unknown users cost the same as wrong passwords
	hashing bulkhead.Bulkhead[any]
	admins  map[string]bool
	bans    *bans.Bans
}

// New builds the function, creating the first signing key if there is none.
func New(ctx context.Context, cfg Config, d Deps) (*Function, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if d.Pool == nil || d.Outbox == nil || d.Revocations == nil || d.Tickets == nil || d.Roles == nil || d.Authorizer == nil {
		return nil, errors.New("identity: missing dependency")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	kr, err := newKeyring(d.Pool, cfg.KeyEncryptionKey, cfg.AccessTTL, cfg.KeyPublishDelay)
	if err != nil {
		return nil, err
	}
	if err := kr.ensure(ctx); err != nil {
		return nil, err
	}
	dummy, err := hashPassword(randomToken(), cfg.Password)
	if err != nil {
		return nil, err
	}
	f := &Function{
		cfg: cfg, d: d, store: store{pool: d.Pool}, keys: kr, dummy: dummy,
		hashing: resilience.Bulkhead[any](cfg.MaxHashing, 2*time.Second),
		admins:  map[string]bool{},
		bans: &bans.Bans{Pool: d.Pool, Outbox: d.Outbox, Roles: d.Roles, Bumper: d.Revocations, Source: Source,
			Log: d.Log},
	}
	for _, u := range cfg.AdminUsernames {
		f.admins[u] = true
	}
	return f, nil
}

// BanFallback answers System:parley#banned from PostgreSQL while Keto is unreachable (for auth.Fallbacks).
func (f *Function) BanFallback() auth.RoleFallback { return f.store }

// Routes registers the public routes (guarded by the access policy).
func (f *Function) Routes(mux *http.ServeMux) {
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, serve.Route(f.d.Log, fn))
	}
	h("GET /.well-known/openid-configuration", f.discovery)
	h("GET /.well-known/jwks.json", f.jwksHandler)
	h("POST /v1/auth/register", f.register)
	h("POST /v1/auth/login", f.login)
	h("POST /v1/auth/refresh", f.refresh)
	h("POST /v1/auth/logout", f.logout)
	h("GET /v1/users/me", f.getMe)
	h("PATCH /v1/users/me", f.updateMe)
	h("DELETE /v1/users/me", f.deleteMe)
	h("GET /v1/users/{id}", f.getUser)
	h("GET /v1/users", f.findUser)
	h("POST /v1/ws/tickets", f.ticket)
	h("POST /v1/admin/users/{id}/ban", f.ban)
	h("DELETE /v1/admin/users/{id}/ban", f.unban)
	h("PUT /v1/admin/roles/{role}/members/{user_id}", f.grantRole)
	h("DELETE /v1/admin/roles/{role}/members/{user_id}", f.revokeRole)
	h("POST /v1/admin/keys/rotate", f.rotateKeys)
}

// RotateKeys publishes a new signing key (the rotate-keys command and the admin route).
func (f *Function) RotateKeys(ctx context.Context) (kid string, activeFrom time.Time, err error) {
	return f.keys.rotate(ctx)
}

// hash runs argon2id inside the hashing bulkhead, so a login storm queues briefly and then gets 503
// instead of allocating Password.MemoryKiB per request without bound.
func (f *Function) hash(ctx context.Context, fn func() error) error {
	if err := f.hashing.AcquirePermitWithMaxWait(ctx, 2*time.Second); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return unavailable(fmt.Errorf("password hashing: %w", err))
	}
	defer f.hashing.ReleasePermit()
	return fn()
}
