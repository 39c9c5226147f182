package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/functions/identity"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/ratelimit"
)

// buildIdentity is the identity function (accounts, tokens, OIDC issuer, admin routes).
//
// Environment (beyond deps.go's): OIDC_AUDIENCE (default "parley"), IDENTITY_KEY_ENCRYPTION_KEY
// (seals signing keys at rest), IDENTITY_KEY_PUBLISH_DELAY (default 10m), IDENTITY_ADMIN_USERNAMES
// (comma list: these users get the admin role when they register).
func buildIdentity(ctx context.Context, d *deps) (http.Handler, error) {
	g, err := d.authGuard(ctx)
	if err != nil {
		return nil, err
	}
	out, err := d.outbox()
	if err != nil {
		return nil, err
	}
	kc, err := d.keto()
	if err != nil {
		return nil, err
	}
	delay, err := durationEnv("IDENTITY_KEY_PUBLISH_DELAY", 10*time.Minute)
	if err != nil {
		return nil, err
	}
	f, err := identity.New(ctx, identity.Config{
		Issuer:            d.cfg.oidcIssuer,
		Audience:          env("OIDC_AUDIENCE", "parley"),
		KeyPublishDelay:   delay,
		KeyEncryptionKey:  []byte(os.Getenv("IDENTITY_KEY_ENCRYPTION_KEY")),
		TrustForwardedFor: os.Getenv("TRUST_FORWARDED_FOR") != "false",
		AdminUsernames:    splitList(os.Getenv("IDENTITY_ADMIN_USERNAMES")),
	}, identity.Deps{
		Pool: d.pool, Outbox: out, Revocations: g.Revocations, Tickets: g.Tickets, Limiter: g.Limiter,
		Roles: kc, Authorizer: g.Authorizer, Log: d.log.With("function", "identity"),
	})
	if err != nil {
		return nil, err
	}
	d.fallbacks[keto.NamespaceSystem] = f.BanFallback()
	return serve.Mount(ctx, serve.Options{Log: d.log, Guard: g.Middleware}, f.Routes, nil)
}

// keto returns the process's Keto client.
func (d *deps) keto() (*keto.Client, error) {
	if d.ketoc == nil {
		c, err := keto.New(keto.Config{ReadURL: d.cfg.ketoRead, WriteURL: d.cfg.ketoWrite, Log: d.log})
		if err != nil {
			return nil, err
		}
		d.ketoc = c
	}
	return d.ketoc, nil
}

// outbox returns an outbox publishing to the broker topic through the process's Kafka writer.
func (d *deps) outbox() (*postgres.Outbox, error) {
	if d.publisher == nil {
		w, err := kafka.NewWriter(kafka.Config{Brokers: d.cfg.kafka})
		if err != nil {
			return nil, err
		}
		d.publisher = w
	}
	return postgres.NewOutbox(d.pool, d.publisher, d.cfg.brokerTopic, d.log), nil
}

// authGuard returns the process's access layer: every function's builder passes its Middleware as
// serve.Options.Guard, and registers its PostgreSQL fallback for Keto in d.fallbacks (e.g.
// d.fallbacks[keto.NamespaceConversation] = auth.FallbackFunc(...)).
//
// Environment: OIDC_ISSUER (deps.go), OIDC_DISCOVERY_URL (fetch discovery there instead, e.g. an
// in-cluster address), OIDC_AUDIENCE (default "parley"), OIDC_ALGORITHMS (default ES256,RS256),
// RULES_FILE (deps.go; empty: built-in defaults), RATE_LIMIT_USER / RATE_LIMIT_IP ("rate/burst" per
// second; defaults 100/200 and 2000/4000; "off" disables), MAX_CONCURRENT (per function, default 256),
// TRUST_FORWARDED_FOR (default true: the gateway appends X-Forwarded-For).
func (d *deps) authGuard(ctx context.Context) (*auth.Guard, error) {
	if d.guard != nil {
		return d.guard, nil
	}
	kc, err := d.keto()
	if err != nil {
		return nil, err
	}
	userLim, err := limitEnv("RATE_LIMIT_USER", ratelimit.PerSecond(100, 200))
	if err != nil {
		return nil, err
	}
	ipLim, err := limitEnv("RATE_LIMIT_IP", ratelimit.PerSecond(2000, 4000))
	if err != nil {
		return nil, err
	}
	maxConc, err := strconv.ParseUint(env("MAX_CONCURRENT", "256"), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("MAX_CONCURRENT: %w", err)
	}
	if d.fallbacks == nil {
		d.fallbacks = auth.Fallbacks{}
	}
	log := d.log
	g, err := auth.NewGuard(ctx, auth.GuardConfig{
		Issuer:            d.cfg.oidcIssuer,
		DiscoveryURL:      os.Getenv("OIDC_DISCOVERY_URL"),
		Audience:          env("OIDC_AUDIENCE", "parley"),
		Algorithms:        splitList(os.Getenv("OIDC_ALGORITHMS")),
		RulesFile:         d.cfg.rulesFile,
		Redis:             d.redis,
		RedisPrefix:       d.cfg.redisPrefix,
		Keto:              kc,
		Fallback:          d.fallbacks,
		UserLimit:         userLim,
		IPLimit:           ipLim,
		MaxConcurrent:     uint(maxConc),
		TrustForwardedFor: os.Getenv("TRUST_FORWARDED_FOR") != "false",
		WriteError:        func(w http.ResponseWriter, r *http.Request, err error) { serve.WriteError(w, r, log, err) },
		Log:               log,
	})
	if err != nil {
		return nil, err
	}
	d.guard = g
	return g, nil
}

// limitEnv reads "rate/burst" (per second) or "off".
func limitEnv(key string, def ratelimit.Limit) (ratelimit.Limit, error) {
	v := os.Getenv(key)
	switch v {
	case "":
		return def, nil
	case "off":
		return ratelimit.Limit{}, nil
	}
	r, b, ok := strings.Cut(v, "/")
	rate, err1 := strconv.Atoi(r)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate <= 0 || burst <= 0 {
		return def, fmt.Errorf("%s: %q is not rate/burst", key, v)
	}
	return ratelimit.PerSecond(rate, burst), nil
}

func durationEnv(key string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}
