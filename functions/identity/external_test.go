package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/parley-im/parley/events"
)

// externalIdP is a minimal independent OIDC issuer (RS256, as Keycloak or Dex sign by default).
type externalIdP struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newExternalIdP(t *testing.T) *externalIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	x := &externalIdP{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": x.srv.URL, "jwks_uri": x.srv.URL + "/keys",
			"authorization_endpoint": x.srv.URL + "/auth", "token_endpoint": x.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "ext-1", Algorithm: "RS256", Use: "sig"}}})
	})
	x.srv = httptest.NewServer(mux)
	t.Cleanup(x.srv.Close)
	return x
}

func (x *externalIdP) token(t *testing.T, subject string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: x.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "ext-1"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: x.srv.URL, Subject: subject, Audience: jwt.Audience{"parley"},
		Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: "ext-jti"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestExternalIssuerByConfigurationAlone(t *testing.T) {
	x := newExternalIdP(t)
	e := newEnv(t, envOptions{issuer: x.srv.URL})
	// Registration still works (public route) and mints our own token...
	a := e.register("mallory", "password1")
	// ...which the policy now refuses: only the configured issuer is trusted.
	want(t, "our token", e.do("GET", "/v1/users/"+a.User.ID, a.Tokens.AccessToken, nil), http.StatusUnauthorized, events.CodeUnauthenticated)
	// The external IdP's token is accepted, its subject becomes the principal.
	tok := x.token(t, a.User.ID)
	want(t, "external token", e.do("GET", "/v1/users/"+a.User.ID, tok, nil), http.StatusOK, "")
	want(t, "external me", e.do("GET", "/v1/users/me", tok, nil), http.StatusOK, "")
}
