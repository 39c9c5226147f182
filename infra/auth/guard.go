package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/infra/ratelimit"
)

// DefaultRules are used when no rules file is configured: the public routes of API.md and the admin
// rule. The real file (infra/platform/rules.yaml) adds the conversation management rules.
const DefaultRules = `
public:
  - POST /v1/auth/register
  - POST /v1/auth/login
  - POST /v1/auth/refresh
  - GET /.well-known/openid-configuration
  - GET /.well-known/jwks.json
  - GET /healthz
  - GET /readyz
  - GET /metrics
rules:
  - name: system-admin
    path: ^/v1/admin/
    require: Role:admin#members
    on_outage: fail_closed
`

// GuardConfig is everything a process needs to authenticate and authorize requests.
type GuardConfig struct {
	OIDC
	// RulesFile is watched for changes every RulesPoll (default 1s); empty uses DefaultRules.
	RulesFile string
	RulesPoll time.Duration
	// Redis holds the denylist, tickets and rate limits, under RedisPrefix ("parley:").
	Redis       goredis.UniversalClient
	RedisPrefix string
	// Keto answers bans and rules; Fallback answers for it when it is unreachable (may be nil).
	Keto     Checker
	Fallback RoleFallback
	// UserLimit / IPLimit: see PolicyConfig (zero: unlimited).
	UserLimit, IPLimit ratelimit.Limit
	MaxConcurrent      uint
	TrustForwardedFor  bool
	WriteError         func(http.ResponseWriter, *http.Request, error)
	Meter              metric.Meter
	Log                *slog.Logger
}

// Guard is the assembled access layer of one process: build one and share it among the functions
// the process runs (one rules watcher, one key cache).
type Guard struct {
	Verifier    *Verifier
	Authorizer  *Authorizer
	Policy      *Policy
	Rules       *RuleSet
	Revocations *Revocations
	Tickets     *Tickets
	Limiter     *ratelimit.Limiter
}

// NewGuard assembles the access layer; the rules watcher runs until ctx is done. It does no network
// I/O: the issuer and Keto may start after this process.
func NewGuard(ctx context.Context, cfg GuardConfig) (*Guard, error) {
	if cfg.Redis == nil || cfg.Keto == nil {
		return nil, errors.New("auth: guard needs Redis and Keto")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	var rules *RuleSet
	var err error
	if cfg.RulesFile == "" {
		rules, err = NewRuleSet([]byte(DefaultRules))
	} else {
		rules, err = LoadRules(cfg.RulesFile)
	}
	if err != nil {
		return nil, err
	}
	az, err := NewAuthorizer(AuthorizerConfig{Keto: cfg.Keto, Fallback: cfg.Fallback, Meter: cfg.Meter, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	rev := NewRevocations(cfg.Redis, cfg.RedisPrefix)
	v, err := NewVerifier(VerifierConfig{
		OIDC: cfg.OIDC, Revocations: rev, Bans: az, Log: cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	lim := ratelimit.New(cfg.Redis, cfg.RedisPrefix)
	p, err := NewPolicy(PolicyConfig{
		Verifier: v, Rules: rules, Authorizer: az, Limiter: lim, UserLimit: cfg.UserLimit, IPLimit: cfg.IPLimit,
		MaxConcurrent: cfg.MaxConcurrent, TrustForwardedFor: cfg.TrustForwardedFor, WriteError: cfg.WriteError, Log: cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	if cfg.RulesFile != "" {
		go rules.Watch(ctx, cfg.RulesFile, cfg.RulesPoll, cfg.Log)
	}
	return &Guard{Verifier: v, Authorizer: az, Policy: p, Rules: rules, Revocations: rev,
		Tickets: NewTickets(cfg.Redis, cfg.RedisPrefix), Limiter: lim}, nil
}

// Middleware is the policy middleware (serve.Options.Guard).
func (g *Guard) Middleware(next http.Handler) http.Handler { return g.Policy.Middleware(next) }
