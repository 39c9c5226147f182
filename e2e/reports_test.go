//go:build e2e

package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// admin registers the suite's admin user (the platform grants it the role at registration).
func admin(t *testing.T) *user {
	t.Helper()
	if sys.admin == "" {
		t.Skip("no admin username for this platform (PARLEY_E2E_ADMIN)")
	}
	api, err := client.New(sys.gateway, sys.hc)
	if err != nil {
		t.Fatal(err)
	}
	u := &user{Client: api, name: sys.admin, password: "pw-" + randHex(8)}
	ctx := timeout(t, 30*time.Second)
	if _, err := u.Register(ctx, events.RegisterRequest{Username: u.name, Password: u.password}); err != nil {
		if client.CodeOf(err) != events.CodeUsernameTaken {
			t.Fatalf("register admin: %v", err)
		}
		t.Skip("the admin was registered by an earlier test of this run") // one admin per run
	}
	return u
}

// Reports through the public API: members report (strangers 404, again -> the same report), the
// admin queue lists them newest first, non-admins get 403, resolving revokes the message as an
// admin revoke (message.revoked pushed) or bans the sender (their socket closes with 4003), and a
// resolved report cannot be resolved again.
func TestReportsQueue(t *testing.T) {
	ctx := timeout(t, 60*time.Second)
	root := admin(t)
	reporter, spammer, stranger := newUser(t), newUser(t), newUser(t)
	conv := befriend(t, reporter, spammer)
	m1, err := spammer.SendMessage(ctx, conv.ID, text("buy now"))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := spammer.SendMessage(ctx, conv.ID, text("buy more"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = stranger.Report(ctx, m1.ID, events.ReportRequest{Reason: events.ReasonSpam})
	expectCode(t, "stranger", err, events.CodeNotFound)
	_, err = reporter.Report(ctx, m1.ID, events.ReportRequest{Reason: "meh"})
	expectCode(t, "bad reason", err, events.CodeInvalidArgument)
	r1, err := reporter.Report(ctx, m1.ID, events.ReportRequest{Reason: events.ReasonSpam, Note: "ad"})
	if err != nil || r1.ReportedUserID != spammer.UserID() || r1.Status != events.ReportOpen || r1.Message.Text != "buy now" {
		t.Fatalf("report: %+v %v", r1, err)
	}
	if again, err := reporter.Report(ctx, m1.ID, events.ReportRequest{Reason: events.ReasonAbuse}); err != nil || again.ID != r1.ID {
		t.Fatalf("again: %+v %v", again, err)
	}
	r2, err := reporter.Report(ctx, m2.ID, events.ReportRequest{Reason: events.ReasonAbuse})
	if err != nil {
		t.Fatal(err)
	}
	_, err = reporter.Reports(ctx, "")
	expectCode(t, "non-admin queue", err, events.CodeForbidden)
	q, err := root.Reports(ctx, "limit=200")
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, r := range q.Reports {
		pos[r.ID] = i
	}
	if i1, ok1 := pos[r1.ID]; !ok1 || pos[r2.ID] >= i1 {
		t.Fatalf("queue order: %v (r2 newer than r1)", pos)
	}

	cr := reporter.dial(t, 0)
	cs := spammer.dial(t, 1)
	_, err = reporter.ResolveReport(ctx, r1.ID, events.ResolveReportRequest{Action: events.ActionDismiss})
	expectCode(t, "non-admin resolve", err, events.CodeForbidden)
	done, err := root.ResolveReport(ctx, r1.ID, events.ResolveReportRequest{Action: events.ActionRevokeMessage})
	if err != nil || done.Status != events.ReportResolved || done.Action != events.ActionRevokeMessage || done.ResolvedBy != root.UserID() {
		t.Fatalf("revoke_message: %+v %v", done, err)
	}
	f, err := cr.Await(ctx, func(f events.Frame) bool { return f.Type == events.FrameMessageRevoked })
	if err != nil {
		t.Fatal(err)
	}
	var rv events.MessageFact
	if err := json.Unmarshal(f.Data, &rv); err != nil || rv.Message.ID != m1.ID || rv.Message.Status != events.StatusRevoked {
		t.Fatalf("message.revoked %s: %v", f.Data, err)
	}
	_, err = root.ResolveReport(ctx, r1.ID, events.ResolveReportRequest{Action: events.ActionDismiss})
	expectCode(t, "resolve twice", err, events.CodeConflict)

	if _, err := root.ResolveReport(ctx, r2.ID, events.ResolveReportRequest{Action: events.ActionBanUser}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cs.Done():
	case <-ctx.Done():
		t.Fatal("the banned sender's socket stayed open")
	}
	if code := cs.CloseCode(); code != events.CloseBanned {
		t.Fatalf("banned socket closed with %d, want %d", code, events.CloseBanned)
	}
	_, err = spammer.SendMessage(ctx, conv.ID, text("still here?"))
	if client.StatusOf(err) != 403 && client.StatusOf(err) != 401 {
		t.Fatalf("the banned user could still send: %v", err)
	}
	resolved, err := root.Reports(ctx, "status=resolved&limit=200")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range resolved.Reports {
		if r.ID == r1.ID || r.ID == r2.ID {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d of the two resolved reports in the resolved queue", n)
	}
}
