package main

import (
	"context"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
)

// newAuth builds the same access checks the HTTP functions apply: OIDC verification against
// OIDC_ISSUER (audience OIDC_AUDIENCE, default "parley"; discovery from OIDC_DISCOVERY_URL when set),
// the Redis denylist, and bans from Keto (KETO_READ_URL / KETO_WRITE_URL). Tickets are redeemed with
// GETDEL and then admitted by the same revocation and ban checks.
func newAuth(cfg config, rdb *goredis.Client, log *slog.Logger) (*auth.Verifier, *ticketAdmitter, error) {
	kcfg := cfg.keto
	kcfg.Log = log
	kc, err := keto.New(kcfg)
	if err != nil {
		return nil, nil, err
	}
	az, err := auth.NewAuthorizer(auth.AuthorizerConfig{Keto: kc, Log: log})
	if err != nil {
		return nil, nil, err
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{
		OIDC:        cfg.oidc,
		Revocations: auth.NewRevocations(rdb, cfg.edge.RedisPrefix),
		Bans:        az,
		Log:         log,
	})
	if err != nil {
		return nil, nil, err
	}
	return v, &ticketAdmitter{t: auth.NewTickets(rdb, cfg.edge.RedisPrefix), v: v}, nil
}

// ticketAdmitter redeems a one-use ticket and applies the verifier's revocation and ban checks.
type ticketAdmitter struct {
	t *auth.Tickets
	v *auth.Verifier
}

func (a *ticketAdmitter) Redeem(ctx context.Context, ticket string) (auth.Principal, error) {
	p, err := a.t.Redeem(ctx, ticket)
	if err != nil {
		return p, err
	}
	return p, a.v.Admit(ctx, p)
}
