package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/polltest"
)

func TestRegisterValidatesEveryField(t *testing.T) {
	e := newEnv(t, envOptions{})
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"no username", map[string]any{"password": "password1"}, "username"},
		{"short username", events.RegisterRequest{Username: "ab", Password: "password1"}, "username"},
		{"long username", events.RegisterRequest{Username: long(33), Password: "password1"}, "username"},
		{"uppercase username", events.RegisterRequest{Username: "Alice", Password: "password1"}, "username"},
		{"bad char", events.RegisterRequest{Username: "al-ice", Password: "password1"}, "username"},
		{"no password", map[string]any{"username": "alice"}, "password"},
		{"short password", events.RegisterRequest{Username: "alice", Password: "1234567"}, "password"},
		{"long password", events.RegisterRequest{Username: "alice", Password: long(129)}, "password"},
		{"long display name", events.RegisterRequest{Username: "alice", Password: "password1", DisplayName: long(65)}, "display_name"},
		{"wrong type", map[string]any{"username": 5, "password": "password1"}, "username"},
		{"unknown field", map[string]any{"username": "alice", "password": "password1", "admin": true}, "admin"},
	} {
		r := e.do("POST", "/v1/auth/register", "", tc.body)
		want(t, tc.name, r, http.StatusBadRequest, events.CodeInvalidArgument)
		if p := r.problem(); p.Field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.name, p.Field, tc.field)
		}
	}
	// Limits are inclusive: 3 and 32 characters, 8 and 128, 64 (runes, not bytes).
	e.register("abc", "12345678")
	r := e.do("POST", "/v1/auth/register", "", events.RegisterRequest{Username: long(32), Password: long(128), DisplayName: strings.Repeat("é", 64)})
	want(t, "limits", r, http.StatusCreated, "")

	a := e.register("alice.b_1", "password1")
	if a.User.Username != "alice.b_1" || a.User.DisplayName != "alice.b_1" || a.User.ID == "" || a.User.CreatedAt.IsZero() {
		t.Fatalf("user %+v", a.User)
	}
	if a.Tokens.TokenType != "Bearer" || a.Tokens.ExpiresIn != 900 || a.Tokens.AccessToken == "" || a.Tokens.RefreshToken == "" {
		t.Fatalf("tokens %+v", a.Tokens)
	}
	r = e.do("POST", "/v1/auth/register", "", events.RegisterRequest{Username: "alice.b_1", Password: "other-password"})
	want(t, "taken", r, http.StatusConflict, events.CodeUsernameTaken)
	if got := e.facts(a.User.ID); !slices.Equal(got, []string{events.TypeUserRegistered}) {
		t.Fatalf("facts %v", got)
	}
	// The token works at once, and the user is visible by id and by name (public fields only).
	r = e.do("GET", "/v1/users/me", a.Tokens.AccessToken, nil)
	want(t, "me", r, http.StatusOK, "")
	r = e.do("GET", "/v1/users/"+a.User.ID, a.Tokens.AccessToken, nil)
	want(t, "by id", r, http.StatusOK, "")
	if strings.Contains(string(r.body), "argon2") {
		t.Fatal("password hash leaked")
	}
	r = e.do("GET", "/v1/users?username=alice.b_1", a.Tokens.AccessToken, nil)
	want(t, "by name", r, http.StatusOK, "")
	want(t, "missing", e.do("GET", "/v1/users/nope", a.Tokens.AccessToken, nil), http.StatusNotFound, events.CodeNotFound)
	want(t, "no query", e.do("GET", "/v1/users", a.Tokens.AccessToken, nil), http.StatusBadRequest, events.CodeInvalidArgument)
	want(t, "anonymous", e.do("GET", "/v1/users/"+a.User.ID, "", nil), http.StatusUnauthorized, events.CodeUnauthenticated)

	// Profile update emits im.user.updated.
	name := "Alice B"
	r = e.do("PATCH", "/v1/users/me", a.Tokens.AccessToken, events.UpdateMeRequest{DisplayName: &name})
	want(t, "patch", r, http.StatusOK, "")
	bad := "ftp://x"
	want(t, "bad avatar", e.do("PATCH", "/v1/users/me", a.Tokens.AccessToken, events.UpdateMeRequest{AvatarURL: &bad}),
		http.StatusBadRequest, events.CodeInvalidArgument)
	if got := e.facts(a.User.ID); !slices.Equal(got, []string{events.TypeUserRegistered, events.TypeUserUpdated}) {
		t.Fatalf("facts %v", got)
	}
}

func TestLoginFailsAlikeAndIsLimited(t *testing.T) {
	e := newEnv(t, envOptions{passwords: DefaultPasswordParams})
	e.register("bob", "correct horse")
	e.register("carol", "correct horse")

	wrong := e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "bob", Password: "wrong password"})
	unknown := e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "nobody", Password: "wrong password"})
	want(t, "wrong password", wrong, http.StatusUnauthorized, events.CodeUnauthenticated)
	want(t, "unknown user", unknown, http.StatusUnauthorized, events.CodeUnauthenticated)
	if string(wrong.body) != string(unknown.body) {
		t.Fatalf("answers differ:\n%s\n%s", wrong.body, unknown.body)
	}
	// Same work either way: both run argon2id at the production cost.
	timeIt := func(user string) time.Duration {
		start := time.Now()
		for range 3 {
			e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: user, Password: "wrong password"})
		}
		return time.Since(start) / 3
	}
	tw, tu := timeIt("carol"), timeIt("nobody2")
	t.Logf("wrong password %v, unknown user %v", tw, tu)
	if tu < tw/3 || tw < tu/3 {
		t.Errorf("timings differ too much: wrong password %v, unknown user %v", tw, tu)
	}

	// bob has failed once; four more failures are answered 401, the 6th attempt 429.
	for i := 2; i <= 5; i++ {
		r := e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "bob", Password: "wrong password"})
		want(t, "failure", r, http.StatusUnauthorized, events.CodeUnauthenticated)
	}
	r := e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "bob", Password: "correct horse"})
	want(t, "6th attempt", r, http.StatusTooManyRequests, events.CodeRateLimited)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Another username is not affected.
	r = e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "carol", Password: "correct horse", DeviceID: "phone"})
	want(t, "carol", r, http.StatusOK, "")
}

func TestRefreshRotatesAndReuseKillsTheFamily(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.register("dave", "password1")
	refresh := func(tok string) response {
		return e.do("POST", "/v1/auth/refresh", "", events.RefreshRequest{RefreshToken: tok})
	}
	r1 := a.Tokens.RefreshToken
	r := refresh(r1)
	want(t, "first refresh", r, http.StatusOK, "")
	var t2 events.TokensResponse
	_ = json.Unmarshal(r.body, &t2)
	if t2.Tokens.RefreshToken == r1 || t2.Tokens.AccessToken == a.Tokens.AccessToken {
		t.Fatal("not rotated")
	}
	r = refresh(t2.Tokens.RefreshToken)
	want(t, "second refresh", r, http.StatusOK, "")
	var t3 events.TokensResponse
	_ = json.Unmarshal(r.body, &t3)
	want(t, "me with newest", e.do("GET", "/v1/users/me", t3.Tokens.AccessToken, nil), http.StatusOK, "")

	// Replaying r1 is a theft signal: 401, and the newest tokens of the family die too.
	want(t, "reuse", refresh(r1), http.StatusUnauthorized, events.CodeUnauthenticated)
	want(t, "newest refresh", refresh(t3.Tokens.RefreshToken), http.StatusUnauthorized, events.CodeUnauthenticated)
	want(t, "newest access", e.do("GET", "/v1/users/me", t3.Tokens.AccessToken, nil), http.StatusUnauthorized, events.CodeUnauthenticated)
	if got := e.facts(a.User.ID); !slices.Contains(got, events.TypeSessionRevoked) {
		t.Fatalf("facts %v", got)
	}
	want(t, "garbage", refresh("garbage"), http.StatusUnauthorized, events.CodeUnauthenticated)
	want(t, "empty", refresh(""), http.StatusBadRequest, events.CodeInvalidArgument)

	// Another session of the same user is untouched.
	r = e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "dave", Password: "password1"})
	want(t, "login", r, http.StatusOK, "")
}

func TestLogoutRefusesTheAccessTokenAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.register("erin", "password1")
	want(t, "before", e.do("GET", "/v1/users/me", a.Tokens.AccessToken, nil), http.StatusOK, "")
	want(t, "logout", e.do("POST", "/v1/auth/logout", a.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "after", e.do("GET", "/v1/users/me", a.Tokens.AccessToken, nil), http.StatusUnauthorized, events.CodeUnauthenticated)
	want(t, "refresh after", e.do("POST", "/v1/auth/refresh", "", events.RefreshRequest{RefreshToken: a.Tokens.RefreshToken}),
		http.StatusUnauthorized, events.CodeUnauthenticated)
	if got := e.facts(a.User.ID); !slices.Equal(got, []string{events.TypeUserRegistered, events.TypeSessionRevoked}) {
		t.Fatalf("facts %v", got)
	}
	// Logout with a body naming the refresh token works too.
	r := e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "erin", Password: "password1"})
	var b events.Auth
	_ = json.Unmarshal(r.body, &b)
	want(t, "logout body", e.do("POST", "/v1/auth/logout", b.Tokens.AccessToken, events.LogoutRequest{RefreshToken: b.Tokens.RefreshToken}),
		http.StatusNoContent, "")
	want(t, "after 2", e.do("GET", "/v1/users/me", b.Tokens.AccessToken, nil), http.StatusUnauthorized, "")
}

func TestForgedAndStaleTokensAreRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.register("frank", "password1")
	want(t, "genuine", e.do("GET", "/v1/users/me", a.Tokens.AccessToken, nil), http.StatusOK, "")
	key, err := e.fn.keys.current(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(mod func(*accessClaims)) accessClaims {
		c := accessClaims{Claims: jwt.Claims{Issuer: e.srv.URL, Subject: a.User.ID, Audience: jwt.Audience{"parley"},
			Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: "j" + a.User.ID}, SessionID: "s"}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	sign := func(alg jose.SignatureAlgorithm, k any, kid string, c accessClaims) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jwt.Signed(s).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	// Control: our key with valid claims is accepted, so the refusals below are about what they change.
	want(t, "control", e.do("GET", "/v1/users/me", sign(jose.ES256, key.priv, key.kid, claims(nil)), nil), http.StatusOK, "")

	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	none := b64(map[string]string{"alg": "none", "typ": "JWT", "kid": key.kid}) + "." + b64(claims(nil)) + "."
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.priv.PublicKey)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, tok := range map[string]string{
		"alg none":        none,
		"HS256 with pub":  sign(jose.HS256, pubDER, key.kid, claims(nil)),
		"unknown kid":     sign(jose.ES256, other, "not-a-kid", claims(nil)),
		"wrong key":       sign(jose.ES256, other, key.kid, claims(nil)),
		"wrong aud":       sign(jose.ES256, key.priv, key.kid, claims(func(c *accessClaims) { c.Audience = jwt.Audience{"other"} })),
		"wrong iss":       sign(jose.ES256, key.priv, key.kid, claims(func(c *accessClaims) { c.Issuer = "https://evil.example" })),
		"expired":         sign(jose.ES256, key.priv, key.kid, claims(func(c *accessClaims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute)) })),
		"garbage":         "not.a.jwt",
		"tampered claims": a.Tokens.AccessToken[:strings.Index(a.Tokens.AccessToken, ".")+1] + b64(claims(nil)) + a.Tokens.AccessToken[strings.LastIndex(a.Tokens.AccessToken, "."):],
	} {
		want(t, name, e.do("GET", "/v1/users/me", tok, nil), http.StatusUnauthorized, events.CodeUnauthenticated)
	}
}

func TestKeyRotationPublishesFirst(t *testing.T) {
	e := newEnv(t, envOptions{delay: 1500 * time.Millisecond})
	root := e.register("root", "password1") // bootstrap admin
	old := e.do("GET", "/.well-known/jwks.json", "", nil)
	var set jose.JSONWebKeySet
	_ = json.Unmarshal(old.body, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("keys %d", len(set.Keys))
	}
	oldKid := set.Keys[0].KeyID
	r := e.do("POST", "/v1/admin/keys/rotate", root.Tokens.AccessToken, nil)
	want(t, "rotate", r, http.StatusOK, "")
	_ = json.Unmarshal(e.do("GET", "/.well-known/jwks.json", "", nil).body, &set)
	if len(set.Keys) != 2 {
		t.Fatalf("after rotation: %d keys published", len(set.Keys))
	}
	kidOf := func(tok string) string {
		h, _, _ := strings.Cut(tok, ".")
		b, _ := base64.RawURLEncoding.DecodeString(h)
		var v struct{ Kid string }
		_ = json.Unmarshal(b, &v)
		return v.Kid
	}
	if a := e.register("early", "password1"); kidOf(a.Tokens.AccessToken) != oldKid {
		t.Fatal("the new key signs before its publication delay")
	}
	time.Sleep(1600 * time.Millisecond)
	a := e.register("late", "password1")
	if kidOf(a.Tokens.AccessToken) == oldKid {
		t.Fatal("the new key does not sign after the delay")
	}
	// Both old and new tokens verify while the old key retires.
	want(t, "new token", e.do("GET", "/v1/users/me", a.Tokens.AccessToken, nil), http.StatusOK, "")
	want(t, "old token", e.do("GET", "/v1/users/me", root.Tokens.AccessToken, nil), http.StatusOK, "")
	var disc map[string]any
	_ = json.Unmarshal(e.do("GET", "/.well-known/openid-configuration", "", nil).body, &disc)
	if disc["issuer"] != e.srv.URL || disc["jwks_uri"] != e.srv.URL+"/.well-known/jwks.json" {
		t.Fatalf("discovery %v", disc)
	}
}

func TestDeleteMeEndsEverything(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.register("gina", "password1")
	want(t, "wrong password", e.do("DELETE", "/v1/users/me", a.Tokens.AccessToken, events.DeleteMeRequest{Password: "nope-nope"}),
		http.StatusForbidden, events.CodeForbidden)
	want(t, "delete", e.do("DELETE", "/v1/users/me", a.Tokens.AccessToken, events.DeleteMeRequest{Password: "password1"}),
		http.StatusNoContent, "")
	want(t, "token after", e.do("GET", "/v1/users/"+a.User.ID, a.Tokens.AccessToken, nil), http.StatusUnauthorized, events.CodeUnauthenticated)
	want(t, "refresh after", e.do("POST", "/v1/auth/refresh", "", events.RefreshRequest{RefreshToken: a.Tokens.RefreshToken}),
		http.StatusUnauthorized, "")
	want(t, "login after", e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "gina", Password: "password1"}),
		http.StatusUnauthorized, "")
	if got := e.facts(a.User.ID); !slices.Equal(got, []string{events.TypeUserRegistered, events.TypeUserDeleted, events.TypeSessionRevoked}) {
		t.Fatalf("facts %v", got)
	}
	b := e.register("gina", "password2") // the name is free again
	want(t, "gone", e.do("GET", "/v1/users/"+a.User.ID, b.Tokens.AccessToken, nil), http.StatusNotFound, "")
}

func TestWebSocketTicketIsOneUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.register("hank", "password1")
	r := e.do("POST", "/v1/ws/tickets", a.Tokens.AccessToken, nil)
	want(t, "ticket", r, http.StatusCreated, "")
	var tr events.TicketResponse
	_ = json.Unmarshal(r.body, &tr)
	if tr.ExpiresIn != 30 || tr.Ticket == "" {
		t.Fatalf("%+v", tr)
	}
	ctx := context.Background()
	ttl, _ := e.rdb.TTL(ctx, e.prefix+"wsticket:"+tr.Ticket).Result()
	if ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("ttl %v", ttl)
	}
	p, err := e.guard.Tickets.Redeem(ctx, tr.Ticket)
	if err != nil || p.UserID != a.User.ID || p.SessionID == "" {
		t.Fatalf("redeem: %+v %v", p, err)
	}
	if err := e.guard.Verifier.Admit(ctx, p); err != nil {
		t.Fatalf("admit: %v", err)
	}
	if _, err := e.guard.Tickets.Redeem(ctx, tr.Ticket); err == nil {
		t.Fatal("ticket redeemed twice")
	}
	want(t, "anonymous", e.do("POST", "/v1/ws/tickets", "", nil), http.StatusUnauthorized, "")
}

func TestBansRolesAndLiveRules(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.register("root", "password1") // bootstrap admin
	ivan := e.register("ivan", "password1")
	judy := e.register("judy", "password1")
	adminPath := "/v1/admin/users/" + ivan.User.ID + "/ban"

	// Ban: 403 on every route, login included; unban restores the same token.
	want(t, "not admin", e.do("POST", adminPath, judy.Tokens.AccessToken, nil), http.StatusForbidden, events.CodeForbidden)
	want(t, "ban", e.do("POST", adminPath, root.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "banned me", e.do("GET", "/v1/users/me", ivan.Tokens.AccessToken, nil), http.StatusForbidden, events.CodeForbidden)
	want(t, "banned other", e.do("GET", "/v1/users/"+judy.User.ID, ivan.Tokens.AccessToken, nil), http.StatusForbidden, events.CodeForbidden)
	want(t, "banned ticket", e.do("POST", "/v1/ws/tickets", ivan.Tokens.AccessToken, nil), http.StatusForbidden, events.CodeForbidden)
	want(t, "banned login", e.do("POST", "/v1/auth/login", "", events.LoginRequest{Username: "ivan", Password: "password1"}),
		http.StatusForbidden, events.CodeForbidden)
	if got := e.facts(ivan.User.ID); !slices.Contains(got, events.TypeSessionRevoked) {
		t.Fatalf("facts %v", got)
	}
	want(t, "unban", e.do("DELETE", adminPath, root.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "unbanned", e.do("GET", "/v1/users/me", ivan.Tokens.AccessToken, nil), http.StatusOK, "")
	want(t, "ban nobody", e.do("POST", "/v1/admin/users/nobody/ban", root.Tokens.AccessToken, nil), http.StatusNotFound, "")

	// Granting the admin role opens the admin routes on the very next request; revoking closes them.
	grant := "/v1/admin/roles/admin/members/" + judy.User.ID
	want(t, "grant", e.do("PUT", grant, root.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "judy bans", e.do("POST", adminPath, judy.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "judy unbans", e.do("DELETE", adminPath, judy.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "revoke", e.do("DELETE", grant, root.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "judy again", e.do("POST", adminPath, judy.Tokens.AccessToken, nil), http.StatusForbidden, events.CodeForbidden)
	want(t, "bad role", e.do("PUT", "/v1/admin/roles/Bad!/members/"+judy.User.ID, root.Tokens.AccessToken, nil),
		http.StatusBadRequest, events.CodeInvalidArgument)

	// A rule added to the rules file guards its route within seconds, without restart.
	me := "/v1/users/" + root.User.ID
	want(t, "before rule", e.do("GET", me, ivan.Tokens.AccessToken, nil), http.StatusOK, "")
	e.writeRules(`
  - name: directory-needs-role
    methods: [GET]
    path: ^/v1/users/(?P<id>[^/]+)$
    require: Role:directory#members
`)
	start := time.Now()
	polltest.Until(t, 5*time.Second, "new rule in force", func() bool {
		return e.do("GET", me, ivan.Tokens.AccessToken, nil).status == http.StatusForbidden
	})
	t.Logf("rule in force after %v", time.Since(start).Round(10*time.Millisecond))
	want(t, "grant directory", e.do("PUT", "/v1/admin/roles/directory/members/"+ivan.User.ID, root.Tokens.AccessToken, nil), http.StatusNoContent, "")
	want(t, "with role", e.do("GET", me, ivan.Tokens.AccessToken, nil), http.StatusOK, "")
	// A broken file keeps the rules in force.
	e.writeRules("\n  - name: [broken")
	time.Sleep(300 * time.Millisecond)
	want(t, "broken file", e.do("GET", me, judy.Tokens.AccessToken, nil), http.StatusForbidden, "")
}

func TestKetoOutageDegrades(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.register("root", "password1")
	kim := e.register("kim", "password1")
	lee := e.register("lee", "password1")
	ctx := context.Background()
	conv := "/v1/conversations/c1"
	// lee is an admin of c1 in both Keto and (the fake) PostgreSQL roles; kim in neither.
	if err := e.kc.Grant(ctx, keto.NamespaceConversation, "c1", keto.RelationAdmins, lee.User.ID); err != nil {
		t.Fatal(err)
	}
	e.convRoles.grant["c1#admins@"+lee.User.ID] = true
	body := map[string]string{"title": "x"}
	// The route itself does not exist in identity: passing the policy shows as 404 (not 403/503).
	want(t, "lee manages", e.do("PATCH", conv, lee.Tokens.AccessToken, body), http.StatusNotFound, "")
	want(t, "kim refused", e.do("PATCH", conv, kim.Tokens.AccessToken, body), http.StatusForbidden, "")
	want(t, "ban kim", e.do("POST", "/v1/admin/users/"+kim.User.ID+"/ban", root.Tokens.AccessToken, nil), http.StatusNoContent, "")

	e.keto.Stop()
	before := e.fallbacks()
	// System roles fail closed.
	r := e.do("POST", "/v1/admin/users/"+lee.User.ID+"/ban", root.Tokens.AccessToken, nil)
	want(t, "admin with keto down", r, http.StatusServiceUnavailable, events.CodeUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Conversation management falls back to PostgreSQL roles.
	want(t, "lee fallback", e.do("PATCH", conv, lee.Tokens.AccessToken, body), http.StatusNotFound, "")
	e.convRoles.mu.Lock()
	e.convRoles.grant["c1#admins@"+lee.User.ID] = false
	e.convRoles.mu.Unlock()
	want(t, "lee demoted in fallback", e.do("PATCH", conv, lee.Tokens.AccessToken, body), http.StatusForbidden, "")
	// Plain requests go on; the ban still holds through its PostgreSQL mirror.
	want(t, "hot path", e.do("GET", "/v1/users/me", lee.Tokens.AccessToken, nil), http.StatusOK, "")
	want(t, "kim still banned", e.do("GET", "/v1/users/me", kim.Tokens.AccessToken, nil), http.StatusForbidden, events.CodeForbidden)
	after := e.fallbacks()
	t.Logf("fallbacks before %v after %v", before, after)
	if after["fallback"]-before["fallback"] < 4 || after["fail_closed"]-before["fail_closed"] < 1 {
		t.Fatalf("fallbacks not counted: before %v after %v", before, after)
	}

	// Keto back: everything returns to normal without restart.
	if err := e.keto.Start(); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "admin route back", func() bool {
		return e.do("DELETE", "/v1/admin/users/"+kim.User.ID+"/ban", root.Tokens.AccessToken, nil).status == http.StatusNoContent
	})
	want(t, "kim unbanned", e.do("GET", "/v1/users/me", kim.Tokens.AccessToken, nil), http.StatusOK, "")
	// Keto (still granting lee) decides again, not the fallback.
	want(t, "lee via keto", e.do("PATCH", conv, lee.Tokens.AccessToken, body), http.StatusNotFound, "")
	final := e.fallbacks()
	e.do("GET", "/v1/users/me", lee.Tokens.AccessToken, nil)
	if got := e.fallbacks(); got["fallback"] != final["fallback"] {
		t.Fatalf("still falling back after recovery: %v -> %v", final, got)
	}
}
