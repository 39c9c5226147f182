//go:build e2e

package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

func TestAuthLifecycle(t *testing.T) {
	ctx := timeout(t, time.Minute)
	u := newUser(t)
	if u.UserID() == "" || u.Tokens().TokenType != "Bearer" || u.Tokens().ExpiresIn <= 0 {
		t.Fatalf("register answer: %+v %+v", u.User(), u.Tokens())
	}

	// The same username again is taken.
	other := u.Clone()
	_, err := other.Register(ctx, events.RegisterRequest{Username: u.name, Password: "another-password"})
	expectCode(t, "register twice", err, events.CodeUsernameTaken)

	// Wrong password is unauthenticated; the right one logs in.
	_, err = other.Login(ctx, events.LoginRequest{Username: u.name, Password: "wrong-password"})
	expectCode(t, "login with a wrong password", err, events.CodeUnauthenticated)
	if _, err := other.Login(ctx, events.LoginRequest{Username: u.name, Password: u.password, DeviceID: "second"}); err != nil {
		t.Fatalf("login: %v", err)
	}
	me, err := other.Me(ctx)
	if err != nil || me.ID != u.UserID() {
		t.Fatalf("me: %+v %v", me, err)
	}

	// Profile update and public lookups.
	name := "Renamed"
	if got, err := u.UpdateMe(ctx, events.UpdateMeRequest{DisplayName: &name}); err != nil || got.DisplayName != name {
		t.Fatalf("update me: %+v %v", got, err)
	}
	if got, err := other.UserByName(ctx, u.name); err != nil || got.ID != u.UserID() || got.DisplayName != name {
		t.Fatalf("user by name: %+v %v", got, err)
	}
	if got, err := other.GetUser(ctx, u.UserID()); err != nil || got.Username != u.name {
		t.Fatalf("user by id: %+v %v", got, err)
	}

	// Refresh rotates; reusing the old refresh token is refused and revokes the whole family, so the
	// token it rotated into stops working too.
	old := u.Tokens()
	fresh, err := u.Refresh(ctx)
	if err != nil || fresh.RefreshToken == old.RefreshToken || fresh.AccessToken == "" {
		t.Fatalf("refresh: %+v %v", fresh, err)
	}
	thief := u.Clone()
	_, err = thief.RefreshWith(ctx, old.RefreshToken)
	expectCode(t, "reuse of a rotated refresh token", err, events.CodeUnauthenticated)
	_, err = u.Clone().RefreshWith(ctx, fresh.RefreshToken)
	expectCode(t, "refresh after reuse detection (family revoked)", err, events.CodeUnauthenticated)

	// Logout: the access token is refused from then on and that session's socket closes.
	conn := dialClient(t, other, 0)
	if err := other.Logout(ctx); err != nil {
		t.Fatalf("logout: %v", err)
	}
	_, err = other.Me(ctx)
	expectCode(t, "access token after logout", err, events.CodeUnauthenticated)
	if code, err := conn.AwaitClose(timeout(t, 15*time.Second)); err != nil || code != events.CloseUnauthenticated {
		t.Fatalf("socket after logout: close code %d, %v", code, err)
	}

	// Without a token every authenticated route is 401.
	anon := u.Clone()
	status, body, err := anon.Raw(ctx, http.MethodGet, "/v1/users/me", "", nil, false)
	if err != nil || status != http.StatusUnauthorized {
		t.Fatalf("anonymous me: %d %s %v", status, body, err)
	}
	if p, _ := client.ProblemOf(body); p.Code != events.CodeUnauthenticated {
		t.Fatalf("anonymous me problem: %+v", p)
	}
}

func TestWebSocketAuth(t *testing.T) {
	ctx := timeout(t, time.Minute)
	u := newUser(t)

	// No token: refused before the upgrade.
	_, err := client.Dial(ctx, sys.edges[0], client.WSAuth{}, client.DialOptions{})
	if client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("anonymous dial: %v", err)
	}
	// Header auth.
	c, err := client.Dial(ctx, sys.edges[0], client.WSAuth{Token: u.Tokens().AccessToken, Header: true}, client.DialOptions{})
	if err != nil {
		t.Fatalf("header auth: %v", err)
	}
	if c.Hello().UserID != u.UserID() || c.Hello().SessionID == "" {
		t.Fatalf("hello: %+v", c.Hello())
	}
	c.Close()
	// Subprotocol auth answers the parley.v1 subprotocol.
	c = u.dial(t, 1)
	if c.Subprotocol() != events.SubprotocolV1 {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	// A ticket works once; a replayed ticket is refused.
	tk, err := u.WSTicket(ctx)
	if err != nil || tk.Ticket == "" {
		t.Fatalf("ticket: %+v %v", tk, err)
	}
	c2, err := client.Dial(ctx, sys.edges[0], client.WSAuth{Ticket: tk.Ticket}, client.DialOptions{})
	if err != nil {
		t.Fatalf("ticket dial: %v", err)
	}
	c2.Close()
	_, err = client.Dial(ctx, sys.edges[1], client.WSAuth{Ticket: tk.Ticket}, client.DialOptions{})
	if client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("replayed ticket: %v", err)
	}
	// A foreign Origin is refused.
	_, err = client.Dial(ctx, sys.edges[0], client.WSAuth{Token: u.Tokens().AccessToken, Origin: "https://evil.example"}, client.DialOptions{})
	if client.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("foreign origin: %v", err)
	}
}
