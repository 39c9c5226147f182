package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/resilience"
)

// TokenVerifier turns a bearer token into a principal (*Verifier satisfies it).
type TokenVerifier interface {
	Verify(ctx context.Context, rawToken string) (Principal, error)
}

// PolicyConfig wires the access policy every HTTP function shares.
type PolicyConfig struct {
	Verifier   TokenVerifier
	Rules      *RuleSet
	Authorizer *Authorizer
	// Limiter enforces UserLimit per authenticated user and IPLimit per client address (nil: no limits).
	Limiter   *ratelimit.Limiter
	UserLimit ratelimit.Limit
	IPLimit   ratelimit.Limit
	// MaxConcurrent bounds the requests in flight in this process (a bulkhead); beyond it requests are
	// refused 503 at once instead of queueing. Default 256.
	MaxConcurrent uint
	// TrustForwardedFor takes the client address from the last X-Forwarded-For hop (set when the
	// process sits behind Parley's gateway or an ingress that appends it), else from the peer address.
	TrustForwardedFor bool
	// WriteError renders refusals; functions pass serve.WriteError so errors map in one place.
	WriteError func(http.ResponseWriter, *http.Request, error)
	Log        *slog.Logger
}

// Policy is the access policy middleware: bulkhead, per-IP limit, public allow-list, token
// verification (with revocation and bans), per-user limit, role rules. Everything it reads (rules,
// bans, roles) is read per request, so changes take effect on the next request.
type Policy struct {
	cfg PolicyConfig
}

// NewPolicy validates cfg.
func NewPolicy(cfg PolicyConfig) (*Policy, error) {
	if cfg.Verifier == nil || cfg.Rules == nil || cfg.WriteError == nil {
		return nil, errors.New("auth: policy needs a verifier, rules and an error writer")
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 256
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Policy{cfg: cfg}, nil
}

// Middleware guards next (serve.Options.Guard).
func (p *Policy) Middleware(next http.Handler) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.admit(w, r, next); err != nil {
			p.cfg.WriteError(w, r, err)
		}
	})
	return resilience.BulkheadHandler(h, p.cfg.MaxConcurrent, p.cfg.WriteError)
}

func (p *Policy) admit(w http.ResponseWriter, r *http.Request, next http.Handler) error {
	ctx := r.Context()
	if err := p.limit(ctx, "ip:"+ClientIP(r, p.cfg.TrustForwardedFor), p.cfg.IPLimit); err != nil {
		return err
	}
	if p.cfg.Rules.Public(r.Method, r.URL.Path) {
		next.ServeHTTP(w, r)
		return nil
	}
	raw, ok := bearer(r)
	if !ok {
		return events.Errorf(events.CodeUnauthenticated, "a bearer access token is required")
	}
	pr, err := p.cfg.Verifier.Verify(ctx, raw)
	if err != nil {
		return err
	}
	if err := p.limit(ctx, "user:"+pr.UserID, p.cfg.UserLimit); err != nil {
		return err
	}
	for _, req := range p.cfg.Rules.Requirements(r.Method, r.URL.Path, pr.UserID) {
		if p.cfg.Authorizer == nil {
			return events.Errorf(events.CodeUnavailable, "authorization is not configured")
		}
		ok, err := p.cfg.Authorizer.Allowed(ctx, req.Namespace, req.Object, req.Relation, pr.UserID, req.OnOutage)
		if err != nil {
			return err
		}
		if !ok {
			if req.NotFound {
				return events.Errorf(events.CodeNotFound, "not found")
			}
			return events.Errorf(events.CodeForbidden, "this action needs %s#%s", req.Namespace, req.Relation)
		}
	}
	next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, pr)))
	return nil
}

// limit spends one request of key's budget; Redis trouble lets the request through (limits degrade,
// traffic does not stop).
func (p *Policy) limit(ctx context.Context, key string, lim ratelimit.Limit) error {
	if p.cfg.Limiter == nil || !lim.Valid() {
		return nil
	}
	res, err := p.cfg.Limiter.Allow(ctx, key, lim)
	if err != nil {
		p.cfg.Log.WarnContext(ctx, "rate limiter unavailable; request let through", "err", err)
		return nil
	}
	if !res.Allowed {
		e := events.Errorf(events.CodeRateLimited, "too many requests")
		e.RetryAfter = max(res.RetryAfter, time.Second)
		return e
	}
	return nil
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// ClientIP is the caller's address: the last X-Forwarded-For hop when trusted (the one our own proxy
// appended; earlier hops are client-controlled), else the peer address.
func ClientIP(r *http.Request, trustForwardedFor bool) string {
	if trustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			hops := strings.Split(xff[len(xff)-1], ",")
			if ip := strings.TrimSpace(hops[len(hops)-1]); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
