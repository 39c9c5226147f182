package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/envconf"
)

// Algorithms Parley accepts by default: ES256 (its own issuer) and RS256 (what most external IdPs
// sign with). "none" and the HMAC family are never accepted: with a public key known to everyone, an
// HS256 token "signed" with it would otherwise verify.
var DefaultAlgorithms = []string{oidc.ES256, oidc.RS256}

var allowedAlgorithms = map[string]bool{
	oidc.ES256: true, oidc.ES384: true, oidc.ES512: true,
	oidc.RS256: true, oidc.RS384: true, oidc.RS512: true,
	oidc.PS256: true, oidc.PS384: true, oidc.PS512: true, oidc.EdDSA: true,
}

// BanChecker reports whether a user is banned (*Authorizer satisfies it).
type BanChecker interface {
	Banned(ctx context.Context, userID string) (bool, error)
}

// OIDC is which tokens a process accepts: whose, for whom, signed how.
type OIDC struct {
	// Issuer is the expected "iss"; discovery is fetched from Issuer + /.well-known/openid-configuration.
	Issuer string
	// DiscoveryURL, when set, is where discovery is fetched instead (an in-cluster address of a
	// public issuer); the tokens must still carry Issuer.
	DiscoveryURL string
	// Audience is the required "aud".
	Audience string
	// Algorithms is the signature allow-list; default DefaultAlgorithms.
	Algorithms []string
}

// The defaults of a local run: the identity function on its local address is the issuer.
const (
	DefaultIssuer   = "http://127.0.0.1:8080"
	DefaultAudience = "parley"
)

// OIDCFromEnv reads OIDC_ISSUER (DefaultIssuer), OIDC_DISCOVERY_URL, OIDC_AUDIENCE (DefaultAudience)
// and OIDC_ALGORITHMS (comma list; unset: DefaultAlgorithms).
func OIDCFromEnv(r *envconf.Reader) OIDC {
	return OIDC{Issuer: r.String("OIDC_ISSUER", DefaultIssuer), DiscoveryURL: r.String("OIDC_DISCOVERY_URL", ""),
		Audience: r.String("OIDC_AUDIENCE", DefaultAudience), Algorithms: r.List("OIDC_ALGORITHMS")}
}

// VerifierConfig configures a Verifier. Switching to an external IdP (Keycloak, Dex, Hydra) is a
// matter of Issuer, Audience and, if it signs with something else, Algorithms.
type VerifierConfig struct {
	OIDC
	// HTTPClient fetches discovery and keys; default a client with a 5s timeout.
	HTTPClient *http.Client
	// RetryInterval is the least time between two discovery attempts while the issuer is unreachable
	// (the issuer may start after us); default 1s.
	RetryInterval time.Duration
	// Revocations is the denylist (nil: none).
	Revocations *Revocations
	// Bans refuses banned users (nil: none).
	Bans BanChecker
	// Now is the clock; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Verifier verifies access tokens. It is safe for concurrent use and does no I/O until the first Verify.
type Verifier struct {
	cfg VerifierConfig

	mu      sync.Mutex
	idv     *oidc.IDTokenVerifier
	lastTry time.Time
	lastErr error

	bans banCache
}

// banCache remembers ban answers per user, valid only while the bans version read from Redis (in the
// same round trip as the denylist) is unchanged: every ban or unban bumps it, so a change still takes
// effect on the next request, and the per-request Keto call disappears. Entries also age out after
// banCacheTTL, bounding staleness for bans written to Keto by other means.
type banCache struct {
	mu sync.Mutex
	m  map[string]banEntry
}

type banEntry struct {
	version string
	banned  bool
	at      time.Time
}

const (
	banCacheTTL = 30 * time.Second
	banCacheMax = 100_000
)

func (c *banCache) get(userID, version string, now time.Time) (banned, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[userID]
	if !ok || e.version != version || now.Sub(e.at) > banCacheTTL {
		return false, false
	}
	return e.banned, true
}

func (c *banCache) put(userID, version string, banned bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= banCacheMax {
		c.m = make(map[string]banEntry) // crude but bounded; entries are cheap to refill
	}
	c.m[userID] = banEntry{version: version, banned: banned, at: now}
}

// NewVerifier checks the configuration; discovery happens lazily.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: verifier needs an issuer")
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: verifier needs an audience")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	for _, a := range cfg.Algorithms {
		if !allowedAlgorithms[a] {
			return nil, fmt.Errorf("auth: signature algorithm %q is not allowed", a)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Verifier{cfg: cfg}, nil
}

func (v *Verifier) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.idv != nil {
		return v.idv, nil
	}
	if now := time.Now(); now.Sub(v.lastTry) < v.cfg.RetryInterval {
		return nil, v.lastErr
	} else {
		v.lastTry = now
	}
	// The context configures go-oidc (its HTTP client) for the key set's whole life; only the
	// discovery request itself is bounded by the caller's deadline.
	base := oidc.ClientContext(context.WithoutCancel(ctx), v.cfg.HTTPClient)
	discovery := v.cfg.Issuer
	if v.cfg.DiscoveryURL != "" {
		base = oidc.InsecureIssuerURLContext(base, v.cfg.Issuer)
		discovery = v.cfg.DiscoveryURL
	}
	dctx, cancel := context.WithTimeout(base, 5*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, strings.TrimSuffix(discovery, "/"))
	if err != nil {
		v.lastErr = events.Wrap(events.CodeUnavailable, err, "the token issuer is unreachable")
		v.cfg.Log.WarnContext(ctx, "oidc discovery failed; will retry", "issuer", v.cfg.Issuer, "err", err)
		return nil, v.lastErr
	}
	// The provider's key set must not be bound to dctx: rebuild it on the long-lived base context.
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
		v.lastErr = events.Wrap(events.CodeUnavailable, err, "the token issuer has no jwks_uri")
		return nil, v.lastErr
	}
	keys := oidc.NewRemoteKeySet(base, meta.JWKSURI)
	v.idv = oidc.NewVerifier(v.cfg.Issuer, keys, &oidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: v.cfg.Algorithms,
		Now:                  v.cfg.Now,
	})
	return v.idv, nil
}

type extraClaims struct {
	SessionID string `json:"sid"`
	TokenID   string `json:"jti"`
}

// Verify checks rawToken (signature with an allowed algorithm and a published key, iss, aud, exp), then
// revocation and bans. A bad token is unauthenticated (401), a banned user forbidden (403), an
// unreachable issuer unavailable (503); every error is an *events.Error.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Principal, error) {
	if rawToken == "" {
		return Principal{}, events.Errorf(events.CodeUnauthenticated, "missing access token")
	}
	idv, err := v.verifier(ctx)
	if err != nil {
		return Principal{}, err
	}
	tok, err := idv.Verify(ctx, rawToken)
	if err != nil {
		return Principal{}, events.Wrap(events.CodeUnauthenticated, err, "invalid or expired access token")
	}
	var extra extraClaims
	if err := tok.Claims(&extra); err != nil {
		return Principal{}, events.Wrap(events.CodeUnauthenticated, err, "invalid access token claims")
	}
	if tok.Subject == "" {
		return Principal{}, events.Errorf(events.CodeUnauthenticated, "access token has no subject")
	}
	p := Principal{UserID: tok.Subject, SessionID: extra.SessionID, TokenID: extra.TokenID,
		ExpiresAt: tok.Expiry, IssuedAt: tok.IssuedAt}
	if err := v.Admit(ctx, p); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// Admit applies the checks that do not depend on the token's form (revocation, bans) to a principal
// obtained otherwise (a redeemed WebSocket ticket).
func (v *Verifier) Admit(ctx context.Context, p Principal) error {
	if !p.ExpiresAt.IsZero() && v.cfg.Now().After(p.ExpiresAt) {
		return events.Errorf(events.CodeUnauthenticated, "access token expired")
	}
	version := "" // "": no bans version known, do not cache
	if v.cfg.Revocations != nil {
		revoked, ver, err := v.cfg.Revocations.check(ctx, p)
		if err != nil {
			// Redis is ephemeral: without it revoked tokens live until exp (documented degradation).
			v.cfg.Log.WarnContext(ctx, "denylist unavailable; token accepted on signature alone", "err", err)
		} else if revoked {
			return events.Errorf(events.CodeUnauthenticated, "access token revoked")
		}
		version = ver
	}
	if v.cfg.Bans == nil {
		return nil
	}
	now := time.Now()
	banned, ok := false, false
	if version != "" {
		banned, ok = v.bans.get(p.UserID, version, now)
	}
	if !ok {
		var err error
		if banned, err = v.cfg.Bans.Banned(ctx, p.UserID); err != nil {
			return err
		}
		if version != "" {
			v.bans.put(p.UserID, version, banned, now)
		}
	}
	if banned {
		return events.Errorf(events.CodeForbidden, "this account is banned")
	}
	return nil
}
