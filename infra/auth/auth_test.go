package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/auth"
)

func TestRulesParseAndMatch(t *testing.T) {
	rs, err := auth.NewRuleSet([]byte(`
public:
  - POST /v1/auth/login
  - GET /.well-known/*
rules:
  - name: leave-or-manage
    methods: [DELETE]
    path: ^/v1/conversations/(?P<id>[^/]+)/members/(?P<user_id>[^/]+)$
    require: Conversation:{id}#admins
    allow_self: user_id
  - path: ^/v1/admin/
    require: Role:admin#members
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		public       bool
	}{
		{"POST", "/v1/auth/login", true}, {"GET", "/v1/auth/login", false}, {"POST", "/v1/auth/login/x", false},
		{"GET", "/.well-known/jwks.json", true}, {"GET", "/v1/users/me", false},
	} {
		if got := rs.Public(tc.method, tc.path); got != tc.public {
			t.Errorf("Public(%s %s) = %v", tc.method, tc.path, got)
		}
	}
	req := rs.Requirements("DELETE", "/v1/conversations/c9/members/u2", "u1")
	if len(req) != 1 || req[0].Namespace != "Conversation" || req[0].Object != "c9" || req[0].Relation != "admins" || req[0].OnOutage != auth.Fallback {
		t.Fatalf("requirements %+v", req)
	}
	if req := rs.Requirements("DELETE", "/v1/conversations/c9/members/u1", "u1"); len(req) != 0 {
		t.Fatalf("leaving needs no role: %+v", req)
	}
	if req := rs.Requirements("GET", "/v1/admin/x", "u1"); len(req) != 1 || req[0].OnOutage != auth.FailClosed {
		t.Fatalf("admin: %+v", req)
	}
	for name, bad := range map[string]string{
		"regexp":      "rules: [{path: '(', require: 'A:b#c'}]",
		"require":     "rules: [{path: '^/x', require: 'A#c'}]",
		"placeholder": "rules: [{path: '^/x', require: 'A:{id}#c'}]",
		"self":        "rules: [{path: '^/x', require: 'A:b#c', allow_self: u}]",
		"outage":      "rules: [{path: '^/x', require: 'A:b#c', on_outage: maybe}]",
		"unknown key": "rules: [{path: '^/x', require: 'A:b#c', typo: 1}]",
		"public":      "public: ['GET nope']",
	} {
		if _, err := auth.NewRuleSet([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
}

func TestClientIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5555"
	r.Header.Add("X-Forwarded-For", "6.6.6.6, 1.2.3.4")
	if got := auth.ClientIP(r, false); got != "10.0.0.1" {
		t.Errorf("untrusted: %s", got)
	}
	if got := auth.ClientIP(r, true); got != "1.2.3.4" {
		t.Errorf("trusted: %s (the last hop is the one our proxy appended)", got)
	}
}

func TestVerifierRefusesUnsafeAlgorithms(t *testing.T) {
	for _, alg := range []string{"none", "HS256", "HS512"} {
		if _, err := auth.NewVerifier(auth.VerifierConfig{OIDC: auth.OIDC{Issuer: "http://x", Audience: "a", Algorithms: []string{alg}}}); err == nil {
			t.Errorf("%s accepted", alg)
		}
	}
}

// issuer is a minimal ES256 OIDC issuer served on ln.
type issuer struct {
	url string
	key *ecdsa.PrivateKey
}

func serveIssuer(t *testing.T, ln net.Listener) *issuer {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is := &issuer{url: "http://" + ln.Addr().String(), key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": is.url, "jwks_uri": is.url + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return is
}

func (is *issuer) token(t *testing.T, sub string) string {
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: is.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	now := time.Now()
	raw, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: is.url, Subject: sub, Audience: jwt.Audience{"parley"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)), ID: "j1"}).
		Claims(map[string]any{"sid": "s1"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The issuer may start after the verifier (local platform start order): discovery is retried lazily.
func TestVerifierDiscoversLazily(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	v, err := auth.NewVerifier(auth.VerifierConfig{OIDC: auth.OIDC{Issuer: "http://" + addr, Audience: "parley"}, RetryInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = v.Verify(ctx, "x.y.z")
	if events.AsError(err).Code != events.CodeUnavailable {
		t.Fatalf("issuer down: %v, want unavailable", err)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	is := serveIssuer(t, ln)
	time.Sleep(30 * time.Millisecond)
	p, err := v.Verify(ctx, is.token(t, "u1"))
	if err != nil || p.UserID != "u1" || p.SessionID != "s1" || p.TokenID != "j1" {
		t.Fatalf("after start: %+v %v", p, err)
	}
	var e *events.Error
	if _, err := v.Verify(ctx, "garbage"); !errors.As(err, &e) || e.Code != events.CodeUnauthenticated {
		t.Fatalf("garbage: %v", err)
	}
}
