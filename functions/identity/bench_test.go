package identity

import (
	"context"
	"net/http"
	"testing"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/auth"
)

// BenchmarkLogin is one successful login over HTTP at the production argon2id cost: policy, password
// check, session + refresh token insert, access token signing.
func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, envOptions{passwords: DefaultPasswordParams, noLimits: true})
	e.register("bench", "benchmark-password")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "bench", Password: "benchmark-password"})
		if r.status != http.StatusOK {
			b.Fatalf("login: %d %s", r.status, r.body)
		}
	}
}

// BenchmarkVerify verifies an access token: "full" is what every request pays (ES256 signature,
// claims, Redis denylist, Keto ban check); "signature" is go-oidc's part alone.
func BenchmarkVerify(b *testing.B) {
	e := newEnv(b, envOptions{})
	a := e.register("bench", "benchmark-password")
	ctx := context.Background()
	sigOnly, err := auth.NewVerifier(auth.VerifierConfig{OIDC: auth.OIDC{Issuer: e.srv.URL, Audience: "parley"}})
	if err != nil {
		b.Fatal(err)
	}
	for name, v := range map[string]*auth.Verifier{"full": e.guard.Verifier, "signature": sigOnly} {
		b.Run(name, func(b *testing.B) {
			if _, err := v.Verify(ctx, a.Tokens.AccessToken); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.Verify(ctx, a.Tokens.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
