//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/check"
	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// user is one registered test user with its own API client.
type user struct {
	*client.Client
	name     string
	password string
}

var userSeq atomic.Int64 // makes usernames unique within a run; the random part across runs

// timeout returns a context bounded by d and by the test.
func timeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUser registers a fresh user (username e2e_<random>_<n>, within the 3-32 [a-z0-9_.] rule).
func newUser(t *testing.T) *user {
	t.Helper()
	api, err := client.New(sys.gateway, sys.hc)
	if err != nil {
		t.Fatal(err)
	}
	u := &user{Client: api, name: fmt.Sprintf("e2e_%s_%d", randHex(6), userSeq.Add(1)), password: "pw-" + randHex(8)}
	if _, err := u.Register(timeout(t, 30*time.Second), events.RegisterRequest{Username: u.name, Password: u.password, DisplayName: "E2E " + u.name}); err != nil {
		t.Fatalf("register %s: %v", u.name, err)
	}
	return u
}

// dial opens a WebSocket for u on edge i (mod the number of edges), closed at the end of the test.
func (u *user) dial(t *testing.T, edge int) *client.Conn {
	t.Helper()
	return dialClient(t, u.Client, edge)
}

// dialClient opens a WebSocket with c's access token on edge i, closed at the end of the test.
func dialClient(t *testing.T, c *client.Client, edge int) *client.Conn {
	t.Helper()
	conn, err := client.Dial(timeout(t, 15*time.Second), sys.edges[edge%len(sys.edges)], client.WSAuth{Token: c.Tokens().AccessToken}, client.DialOptions{})
	if err != nil {
		t.Fatalf("dial edge %d as %s: %v", edge, c.UserID(), err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// member turns users into the checker's members.
func members(us ...*user) []check.Member {
	out := make([]check.Member, len(us))
	for i, u := range us {
		out[i] = check.Member{UserID: u.UserID(), API: u.Client}
	}
	return out
}

// befriend makes a and b contacts (a asks, b accepts) and returns their direct conversation.
func befriend(t *testing.T, a, b *user) events.Conversation {
	t.Helper()
	ctx := timeout(t, 30*time.Second)
	req, err := a.RequestContact(ctx, b.UserID(), "hi")
	if err != nil {
		t.Fatalf("contact request: %v", err)
	}
	if _, err := b.AcceptContact(ctx, req.ID); err != nil {
		t.Fatalf("accept: %v", err)
	}
	conv, err := a.CreateDirect(ctx, b.UserID())
	if err != nil {
		t.Fatalf("direct conversation: %v", err)
	}
	return conv
}

// group creates a group owned by owner with the others as members.
func group(t *testing.T, owner *user, others ...*user) events.Conversation {
	t.Helper()
	ids := make([]string, len(others))
	for i, o := range others {
		ids[i] = o.UserID()
	}
	conv, err := owner.CreateGroup(timeout(t, 30*time.Second), "group "+randHex(3), ids)
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return conv
}

func text(s string) events.SendMessage {
	return events.SendMessage{ClientMsgID: "c-" + randHex(8), Type: events.MessageText, Text: s}
}

// mustNothingLost runs the shared delivery check and fails the test on any violation.
func mustNothingLost(t *testing.T, l *check.Ledger, opt check.Options, us ...*user) check.Report {
	t.Helper()
	rep, err := check.NothingLost(timeout(t, time.Minute), l, members(us...), opt)
	if err != nil {
		t.Fatalf("nothing-lost check: %v", err)
	}
	t.Logf("nothing-lost: %d acked, %d pushes, %d pulled only, %d duplicate pushes", rep.Acked, rep.Pushes, rep.PulledOnly, rep.DupPushes)
	return rep
}

// expectCode fails unless err carries code.
func expectCode(t *testing.T, what string, err error, code events.Code) {
	t.Helper()
	if got := client.CodeOf(err); got != code {
		t.Fatalf("%s: want code %q, got %q (%v)", what, code, got, err)
	}
}

// sendRetrying does what docs/protocol.md asks of a client whose send was answered "unavailable"
// (the command may still apply): send again with the same client_msg_id, a bounded number of times.
// The nothing-lost check then proves the retries stored and showed the message once.
func sendRetrying(ctx context.Context, send func() (events.Message, error)) (events.Message, error) {
	for attempt := 1; ; attempt++ {
		m, err := send()
		if err == nil || attempt == 6 || client.CodeOf(err) != events.CodeUnavailable {
			return m, err
		}
		// docs/protocol.md: unavailable is retried after a backoff (an overloaded instance sheds
		// sends until its deliveries catch up; an immediate retry meets the same refusal).
		select {
		case <-ctx.Done():
			return m, err
		case <-time.After(time.Duration(125<<attempt) * time.Millisecond):
		}
	}
}
