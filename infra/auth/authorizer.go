package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/keto"
)

// Checker asks the authorization graph; *keto.Client satisfies it. An outage must wrap keto.ErrUnavailable.
type Checker interface {
	Check(ctx context.Context, namespace, object, relation, subjectID string) (bool, error)
}

// RoleFallback answers a check from PostgreSQL when Keto is unreachable: the conversations function
// implements it for namespace Conversation from its members table (role owner/admin/member), identity
// for System#banned from users.banned_at. It must answer the same question Keto would (relation may be
// a permit such as "manage"); an error means "unknown" and the check fails closed.
type RoleFallback interface {
	HasRelation(ctx context.Context, namespace, object, relation, userID string) (bool, error)
}

// Fallbacks routes fallback checks by namespace; a namespace it lacks has no fallback.
type Fallbacks map[string]RoleFallback

// HasRelation implements RoleFallback.
func (f Fallbacks) HasRelation(ctx context.Context, namespace, object, relation, userID string) (bool, error) {
	fb, ok := f[namespace]
	if !ok || fb == nil {
		return false, errNoFallback
	}
	return fb.HasRelation(ctx, namespace, object, relation, userID)
}

var errNoFallback = errors.New("no fallback for namespace")

// OnOutage says what a check does when Keto is unreachable.
type OnOutage int

const (
	// FailClosed refuses (503 unavailable): system roles (admin) must never be granted by a guess.
	FailClosed OnOutage = iota
	// Fallback asks the RoleFallback (PostgreSQL roles); without one it fails closed.
	Fallback
)

// FallbackMetric is the OTel counter of checks answered without Keto.
const FallbackMetric = "parley_authz_fallback_total"

// AuthorizerConfig wires an Authorizer.
type AuthorizerConfig struct {
	Keto     Checker
	Fallback RoleFallback // may be nil
	// Meter creates the fallback counter; default the global meter provider's.
	Meter metric.Meter
	Log   *slog.Logger
}

// Authorizer checks relations in Keto with Parley's degradation rules and counts every check answered
// without Keto in parley_authz_fallback_total{namespace, relation, mode=fallback|fail_open|fail_closed}.
type Authorizer struct {
	keto     Checker
	fallback RoleFallback
	count    metric.Int64Counter
	log      *slog.Logger
}

// NewAuthorizer builds an Authorizer.
func NewAuthorizer(cfg AuthorizerConfig) (*Authorizer, error) {
	if cfg.Keto == nil {
		return nil, errors.New("auth: authorizer needs a Keto checker")
	}
	if cfg.Meter == nil {
		cfg.Meter = otel.GetMeterProvider().Meter("github.com/parley-im/parley/infra/auth")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c, err := cfg.Meter.Int64Counter(FallbackMetric,
		metric.WithDescription("Authorization checks answered without Keto (Keto unreachable), by namespace, relation and mode."))
	if err != nil {
		return nil, err
	}
	return &Authorizer{keto: cfg.Keto, fallback: cfg.Fallback, count: c, log: cfg.Log}, nil
}

// Allowed reports whether userID has relation on namespace:object. When Keto is unreachable it follows
// onOutage; failing closed returns an unavailable *events.Error (503: retry later), not a "no".
func (a *Authorizer) Allowed(ctx context.Context, namespace, object, relation, userID string, onOutage OnOutage) (bool, error) {
	ok, err := a.keto.Check(ctx, namespace, object, relation, userID)
	if err == nil {
		return ok, nil
	}
	if !errors.Is(err, keto.ErrUnavailable) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, events.Wrap(events.CodeInternal, err, "authorization check failed")
	}
	if onOutage == Fallback && a.fallback != nil {
		ok, ferr := a.fallback.HasRelation(ctx, namespace, object, relation, userID)
		if ferr == nil {
			a.record(ctx, namespace, relation, "fallback")
			return ok, nil
		}
		if !errors.Is(ferr, errNoFallback) {
			a.log.WarnContext(ctx, "authorization fallback failed", "namespace", namespace, "relation", relation, "err", ferr)
		}
	}
	a.record(ctx, namespace, relation, "fail_closed")
	e := events.Wrap(events.CodeUnavailable, err, "authorization is temporarily unavailable")
	e.RetryAfter = 5 * time.Second
	return false, e
}

// Banned reports whether userID is banned (System:parley#banned). When Keto is unreachable it asks the
// fallback (identity's users.banned_at) and, failing that, lets the request through: a ban check runs
// on every request, and an authorization outage must not stop all traffic (the hot path stays up).
func (a *Authorizer) Banned(ctx context.Context, userID string) (bool, error) {
	ok, err := a.keto.Check(ctx, keto.NamespaceSystem, keto.SystemObject, keto.RelationBanned, userID)
	if err == nil {
		return ok, nil
	}
	if !errors.Is(err, keto.ErrUnavailable) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, events.Wrap(events.CodeInternal, err, "ban check failed")
	}
	if a.fallback != nil {
		ok, ferr := a.fallback.HasRelation(ctx, keto.NamespaceSystem, keto.SystemObject, keto.RelationBanned, userID)
		if ferr == nil {
			a.record(ctx, keto.NamespaceSystem, keto.RelationBanned, "fallback")
			return ok, nil
		}
	}
	a.record(ctx, keto.NamespaceSystem, keto.RelationBanned, "fail_open")
	return false, nil
}

func (a *Authorizer) record(ctx context.Context, namespace, relation, mode string) {
	a.count.Add(ctx, 1, metric.WithAttributes(
		attribute.String("namespace", namespace), attribute.String("relation", relation), attribute.String("mode", mode)))
}

// FallbackFunc adapts a function to RoleFallback.
type FallbackFunc func(ctx context.Context, namespace, object, relation, userID string) (bool, error)

// HasRelation implements RoleFallback.
func (f FallbackFunc) HasRelation(ctx context.Context, namespace, object, relation, userID string) (bool, error) {
	return f(ctx, namespace, object, relation, userID)
}
