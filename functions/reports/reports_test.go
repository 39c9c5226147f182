package reports_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/bans"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/reports"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/keto/ketotest"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// ketoAuthz answers the admin check from the real Keto, as *auth.Authorizer does when Keto is up.
type ketoAuthz struct{ kc *keto.Client }

func (a ketoAuthz) Allowed(ctx context.Context, ns, object, relation, userID string, _ auth.OnOutage) (bool, error) {
	return a.kc.Check(ctx, ns, object, relation, userID)
}

func insertMessage(t *testing.T, pool *pgxpool.Pool, conv, sender string, seq int, text string) string {
	t.Helper()
	id := fmt.Sprintf("msg-%d-%s", seq, conv)
	if _, err := pool.Exec(context.Background(), `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, created_at)
		VALUES ($1, $2, $3, $4, $1, 'text', $5, now())`, id, conv, seq, sender, text); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestReportsQueue(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.New(t)
	kc := ketotest.Start(t).Client(t)
	ob, _ := mt.Outbox(pool)
	b := &bans.Bans{Pool: pool, Outbox: ob, Roles: kc, Source: reports.Source, Log: mt.Log()}
	h := http.NewServeMux()
	reports.New(reports.Config{}, reports.Deps{Pool: pool, Outbox: ob, Authz: ketoAuthz{kc}, Bans: b, Log: mt.Log()}).Routes(h)
	u := mt.Users(t, pool, 4)
	admin, reporter, sender, stranger := u[0], u[1], u[2], u[3]
	if err := kc.Grant(ctx, keto.NamespaceRole, keto.RoleAdmin, keto.RelationMembers, admin); err != nil {
		t.Fatal(err)
	}
	conv := mt.Group(t, pool, reporter, sender)
	m1 := insertMessage(t, pool, conv, sender, 1, "spam spam")
	m2 := insertMessage(t, pool, conv, sender, 2, "abuse")
	m3 := insertMessage(t, pool, conv, sender, 3, "meh")
	path := func(m string) string { return "/v1/messages/" + m + "/report" }

	// Filing: members only, validated, once per open report.
	for body, field := range map[string]string{
		`{}`:                  "reason",
		`{"reason":"boring"}`: "reason",
		`{"reason":"spam","note":"` + strings.Repeat("é", 1001) + `"}`: "note",
		`{"reason":"spam","extra":1}`:                                  "extra",
	} {
		if code, raw := mt.Do(t, h, reporter, "POST", path(m1), body, nil); code != 400 || !strings.Contains(string(raw), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s", body, code, raw)
		}
	}
	if code, _ := mt.Do(t, h, stranger, "POST", path(m1), `{"reason":"spam"}`, nil); code != 404 {
		t.Fatalf("stranger: %d", code)
	}
	if code, _ := mt.Do(t, h, reporter, "POST", path("nope"), `{"reason":"spam"}`, nil); code != 404 {
		t.Fatalf("missing message: %d", code)
	}
	var r1 events.ReportResponse
	if code, raw := mt.Do(t, h, reporter, "POST", path(m1), `{"reason":"spam","note":"buy now"}`, &r1); code != 201 {
		t.Fatalf("report: %d %s", code, raw)
	}
	rep := r1.Report
	if rep.MessageID != m1 || rep.ConversationID != conv || rep.ReporterID != reporter || rep.ReportedUserID != sender ||
		rep.Reason != "spam" || rep.Note != "buy now" || rep.Status != "open" || rep.Action != "" || rep.ResolvedAt != nil ||
		rep.Message.Text != "spam spam" || rep.Message.ID != m1 {
		t.Fatalf("report: %+v", rep)
	}
	var again events.ReportResponse
	if code, _ := mt.Do(t, h, reporter, "POST", path(m1), `{"reason":"abuse"}`, &again); code != 200 || again.Report.ID != rep.ID {
		t.Fatalf("again: %d %+v", code, again.Report)
	}
	var r2, r3 events.ReportResponse
	mt.Do(t, h, reporter, "POST", path(m2), `{"reason":"abuse"}`, &r2)
	mt.Do(t, h, sender, "POST", path(m3), `{"reason":"other"}`, &r3)
	if n := len(mt.OutboxRows(t, pool, events.TypeReportCreated)); n != 3 {
		t.Fatalf("%d report facts, want 3", n)
	}

	// The queue: admins only, newest first, paged by before.
	if code, _ := mt.Do(t, h, reporter, "GET", "/v1/admin/reports", "", nil); code != 403 {
		t.Fatalf("non-admin queue: %d", code)
	}
	var page events.ReportsResponse
	if code, _ := mt.Do(t, h, admin, "GET", "/v1/admin/reports?limit=2", "", &page); code != 200 || len(page.Reports) != 2 || !page.HasMore ||
		page.Reports[0].ID != r3.Report.ID || page.Reports[1].ID != r2.Report.ID {
		t.Fatalf("page 1: %d %+v", code, page)
	}
	mt.Do(t, h, admin, "GET", "/v1/admin/reports?limit=2&before="+page.Reports[1].ID, "", &page)
	if len(page.Reports) != 1 || page.HasMore || page.Reports[0].ID != rep.ID {
		t.Fatalf("page 2: %+v", page)
	}
	for _, q := range []string{"status=closed", "limit=0", "limit=201"} {
		if code, _ := mt.Do(t, h, admin, "GET", "/v1/admin/reports?"+q, "", nil); code != 400 {
			t.Errorf("%s: %d", q, code)
		}
	}

	// Resolving: admins only, a known action, once.
	resolve := func(id string) string { return "/v1/admin/reports/" + id + "/resolve" }
	if code, _ := mt.Do(t, h, reporter, "POST", resolve(rep.ID), `{"action":"dismiss"}`, nil); code != 403 {
		t.Fatalf("non-admin resolve: %d", code)
	}
	if code, _ := mt.Do(t, h, admin, "POST", resolve(rep.ID), `{"action":"delete"}`, nil); code != 400 {
		t.Fatalf("bad action: %d", code)
	}
	if code, _ := mt.Do(t, h, admin, "POST", resolve("nope"), `{"action":"dismiss"}`, nil); code != 404 {
		t.Fatalf("missing report: %d", code)
	}
	// revoke_message: the admin revoke (the admin is no member of the conversation).
	var done events.ReportResponse
	if code, raw := mt.Do(t, h, admin, "POST", resolve(rep.ID), `{"action":"revoke_message","note":"spam"}`, &done); code != 200 {
		t.Fatalf("revoke_message: %d %s", code, raw)
	}
	if d := done.Report; d.Status != "resolved" || d.Action != "revoke_message" || d.ResolvedBy != admin || d.ResolvedAt == nil ||
		d.Message.Text != "spam spam" {
		t.Fatalf("resolved: %+v", d)
	}
	var status, text string
	_ = pool.QueryRow(ctx, `SELECT status, text FROM messages WHERE id = $1`, m1).Scan(&status, &text)
	revoked := mt.OutboxRows(t, pool, events.TypeMessageRevoked)
	if status != "revoked" || text != "" || len(revoked) != 1 || revoked[0].Subject() != conv {
		t.Fatalf("message %s %q; %d revoked facts", status, text, len(revoked))
	}
	if code, raw := mt.Do(t, h, admin, "POST", resolve(rep.ID), `{"action":"dismiss"}`, nil); code != 409 || !strings.Contains(string(raw), `"code":"conflict"`) {
		t.Fatalf("resolve twice: %d %s", code, raw)
	}
	// ban_user: the admin ban (Keto, the mirror, the sockets).
	if code, _ := mt.Do(t, h, admin, "POST", resolve(r2.Report.ID), `{"action":"ban_user"}`, &done); code != 200 || done.Report.Action != "ban_user" {
		t.Fatalf("ban_user: %d %+v", code, done.Report)
	}
	banned, err := kc.Check(ctx, keto.NamespaceSystem, keto.SystemObject, keto.RelationBanned, sender)
	var bannedAt *string
	_ = pool.QueryRow(ctx, `SELECT banned_at::text FROM users WHERE id = $1`, sender).Scan(&bannedAt)
	sessions := mt.OutboxRows(t, pool, events.TypeSessionRevoked)
	if err != nil || !banned || bannedAt == nil || len(sessions) != 1 || sessions[0].Subject() != sender {
		t.Fatalf("ban: keto %v %v, banned_at %v, %d session facts", banned, err, bannedAt, len(sessions))
	}
	// dismiss: nothing else happens.
	if code, _ := mt.Do(t, h, admin, "POST", resolve(r3.Report.ID), `{"action":"dismiss"}`, &done); code != 200 || done.Report.Action != "dismiss" {
		t.Fatalf("dismiss: %d", code)
	}
	_ = pool.QueryRow(ctx, `SELECT status FROM messages WHERE id = $1`, m3).Scan(&status)
	if status != "normal" {
		t.Fatalf("dismiss changed the message: %s", status)
	}
	if n := len(mt.OutboxRows(t, pool, events.TypeReportResolved)); n != 3 {
		t.Fatalf("%d resolved facts, want 3", n)
	}
	mt.Do(t, h, admin, "GET", "/v1/admin/reports?status=resolved", "", &page)
	if len(page.Reports) != 3 {
		t.Fatalf("resolved queue: %d", len(page.Reports))
	}
	var open events.ReportsResponse
	mt.Do(t, h, admin, "GET", "/v1/admin/reports", "", &open)
	if len(open.Reports) != 0 {
		t.Fatalf("open queue after resolving all: %d", len(open.Reports))
	}
}
