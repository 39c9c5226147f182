package contacts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/contacts"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	pub  *mt.Publisher
	h    http.Handler
}

func newEnv(t *testing.T) *env {
	pool, _ := pgtest.New(t)
	ob, pub := mt.Outbox(pool)
	h, err := contacts.New(contacts.Config{}, contacts.Deps{Pool: pool, Outbox: ob, Log: mt.Log()}).
		Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, pool: pool, pub: pub, h: h}
}

func (e *env) do(user, method, path, body string, out any) int {
	e.t.Helper()
	code, _ := mt.Do(e.t, e.h, user, method, path, body, out)
	return code
}

// problem returns the error code of a failed call.
func (e *env) problem(user, method, path, body string) (int, events.Code) {
	e.t.Helper()
	code, raw := mt.Do(e.t, e.h, user, method, path, body, nil)
	var p events.Problem
	_ = json.Unmarshal(raw, &p)
	return code, p.Code
}

func (e *env) request(from, to string) events.ContactRequest {
	e.t.Helper()
	var r events.RequestResponse
	if code := e.do(from, "POST", "/v1/contacts/requests", fmt.Sprintf(`{"user_id":%q,"message":"hi"}`, to), &r); code != 201 {
		e.t.Fatalf("request %s -> %s: %d", from, to, code)
	}
	return r.Request
}

func (e *env) requests(user, dir string) []events.ContactRequest {
	e.t.Helper()
	var r events.RequestsResponse
	if code := e.do(user, "GET", "/v1/contacts/requests?direction="+dir, "", &r); code != 200 {
		e.t.Fatalf("list %s: %d", dir, code)
	}
	return r.Requests
}

func (e *env) contacts(user string) []events.Contact {
	e.t.Helper()
	var r events.ContactsResponse
	if code := e.do(user, "GET", "/v1/contacts", "", &r); code != 200 {
		e.t.Fatalf("contacts: %d", code)
	}
	return r.Contacts
}

func TestRequestListAccept(t *testing.T) {
	e := newEnv(t)
	u := mt.Users(t, e.pool, 2)
	a, b := u[0], u[1]

	req := e.request(a, b)
	if req.Status != events.RequestPending || req.FromUserID != a || req.ToUserID != b || req.Message != "hi" || req.ID == "" {
		t.Fatalf("request %+v", req)
	}
	if in := e.requests(b, "incoming"); len(in) != 1 || in[0].ID != req.ID {
		t.Fatalf("incoming of b: %+v", in)
	}
	if out := e.requests(a, "outgoing"); len(out) != 1 || out[0].ID != req.ID {
		t.Fatalf("outgoing of a: %+v", out)
	}
	if in := e.requests(a, "incoming"); len(in) != 0 {
		t.Fatalf("incoming of a: %+v", in)
	}
	if code, c := e.problem(a, "GET", "/v1/contacts/requests?direction=sideways", ""); code != 400 || c != events.CodeInvalidArgument {
		t.Fatalf("bad direction: %d %s", code, c)
	}
	// Only the recipient answers; a stranger sees nothing.
	if code, c := e.problem(a, "POST", "/v1/contacts/requests/"+req.ID+"/accept", ""); code != 403 || c != events.CodeForbidden {
		t.Fatalf("sender accepting: %d %s", code, c)
	}
	stranger := mt.Users(t, e.pool, 1)[0]
	if code, _ := e.problem(stranger, "POST", "/v1/contacts/requests/"+req.ID+"/accept", ""); code != 404 {
		t.Fatalf("stranger accepting: %d", code)
	}

	var acc events.RequestResponse
	if code := e.do(b, "POST", "/v1/contacts/requests/"+req.ID+"/accept", "", &acc); code != 200 || acc.Request.Status != events.RequestAccepted {
		t.Fatalf("accept: %d %+v", code, acc.Request)
	}
	if code, c := e.problem(b, "POST", "/v1/contacts/requests/"+req.ID+"/accept", ""); code != 409 || c != events.CodeConflict {
		t.Fatalf("accept twice: %d %s", code, c)
	}
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		cs := e.contacts(pair[0])
		if len(cs) != 1 || cs[0].User.ID != pair[1] || cs[0].User.Username == "" || cs[0].Since.IsZero() {
			t.Fatalf("contacts of %s: %+v", pair[0], cs)
		}
	}
	if in := e.requests(b, "incoming"); len(in) != 0 {
		t.Fatalf("decided request still listed: %+v", in)
	}
	// Already contacts: a new request is a conflict.
	if code, c := e.problem(a, "POST", "/v1/contacts/requests", fmt.Sprintf(`{"user_id":%q}`, b)); code != 409 || c != events.CodeConflict {
		t.Fatalf("request to a contact: %d %s", code, c)
	}

	requested := mt.OutboxRows(t, e.pool, events.TypeContactRequested)
	accepted := mt.OutboxRows(t, e.pool, events.TypeContactAccepted)
	if len(requested) != 1 || len(accepted) != 1 {
		t.Fatalf("facts: %d requested, %d accepted", len(requested), len(accepted))
	}
	f, err := events.Decode[events.ContactFact](accepted[0])
	if err != nil || f.Request.ID != req.ID || f.Request.Status != events.RequestAccepted {
		t.Fatalf("accepted fact %+v %v", f, err)
	}
	if len(e.pub.Published(events.TypeContactRequested, events.TypeContactAccepted)) != 2 {
		t.Fatal("facts not published after commit")
	}
}

func TestReject(t *testing.T) {
	e := newEnv(t)
	u := mt.Users(t, e.pool, 2)
	req := e.request(u[0], u[1])
	var r events.RequestResponse
	if code := e.do(u[1], "POST", "/v1/contacts/requests/"+req.ID+"/reject", "", &r); code != 200 || r.Request.Status != events.RequestRejected {
		t.Fatalf("reject: %d %+v", code, r.Request)
	}
	if cs := e.contacts(u[0]); len(cs) != 0 {
		t.Fatalf("rejected request made contacts: %+v", cs)
	}
	if n := len(mt.OutboxRows(t, e.pool, events.TypeContactAccepted)); n != 0 {
		t.Fatalf("%d accepted facts after a rejection", n)
	}
	// A rejected request can be sent again.
	e.request(u[0], u[1])
}

func TestRequestRefusals(t *testing.T) {
	e := newEnv(t)
	u := mt.Users(t, e.pool, 3)
	a, b, c := u[0], u[1], u[2]
	cases := []struct {
		name, user, body string
		status           int
		code             events.Code
	}{
		{"self", a, fmt.Sprintf(`{"user_id":%q}`, a), 400, events.CodeInvalidArgument},
		{"missing user_id", a, `{}`, 400, events.CodeInvalidArgument},
		{"unknown user", a, `{"user_id":"nobody"}`, 404, events.CodeNotFound},
		{"unknown field", a, fmt.Sprintf(`{"user_id":%q,"x":1}`, b), 400, events.CodeInvalidArgument},
	}
	for _, tc := range cases {
		if code, got := e.problem(tc.user, "POST", "/v1/contacts/requests", tc.body); code != tc.status || got != tc.code {
			t.Errorf("%s: %d %s; want %d %s", tc.name, code, got, tc.status, tc.code)
		}
	}
	e.request(a, b)
	if code, got := e.problem(a, "POST", "/v1/contacts/requests", fmt.Sprintf(`{"user_id":%q}`, b)); code != 409 || got != events.CodeConflict {
		t.Errorf("duplicate: %d %s", code, got)
	}
	// c blocks a: a cannot request c (403 blocked), nor c request a.
	if code := e.do(c, "POST", "/v1/blocks", fmt.Sprintf(`{"user_id":%q}`, a), nil); code != 204 {
		t.Fatalf("block: %d", code)
	}
	if code, got := e.problem(a, "POST", "/v1/contacts/requests", fmt.Sprintf(`{"user_id":%q}`, c)); code != 403 || got != events.CodeBlocked {
		t.Errorf("request to a blocker: %d %s", code, got)
	}
	if code, got := e.problem(c, "POST", "/v1/contacts/requests", fmt.Sprintf(`{"user_id":%q}`, a)); code != 403 || got != events.CodeBlocked {
		t.Errorf("blocker requesting: %d %s", code, got)
	}
	if n := len(mt.OutboxRows(t, e.pool, events.TypeContactRequested)); n != 1 {
		t.Errorf("%d requested facts; want 1", n)
	}
}

// A user who requests someone whose request to them is pending accepts that request (product
// choice: "add back" means yes) instead of getting a 409.
func TestCrossedRequestAccepts(t *testing.T) {
	e := newEnv(t)
	u := mt.Users(t, e.pool, 2)
	a, b := u[0], u[1]
	req := e.request(b, a)
	var r events.RequestResponse
	if code := e.do(a, "POST", "/v1/contacts/requests", fmt.Sprintf(`{"user_id":%q}`, b), &r); code != 200 {
		t.Fatalf("crossed request: %d", code)
	}
	if r.Request.ID != req.ID || r.Request.Status != events.RequestAccepted || r.Request.FromUserID != b {
		t.Fatalf("answer is not the accepted request: %+v", r.Request)
	}
	if cs := e.contacts(a); len(cs) != 1 || cs[0].User.ID != b {
		t.Fatalf("contacts of a: %+v", cs)
	}
	if cs := e.contacts(b); len(cs) != 1 || cs[0].User.ID != a {
		t.Fatalf("contacts of b: %+v", cs)
	}
	if out := e.requests(b, "outgoing"); len(out) != 0 {
		t.Fatalf("pending left: %+v", out)
	}
	acc := mt.OutboxRows(t, e.pool, events.TypeContactAccepted)
	if len(acc) != 1 || len(mt.OutboxRows(t, e.pool, events.TypeContactRequested)) != 1 {
		t.Fatalf("facts: %d accepted", len(acc))
	}
}

func TestRemoveContact(t *testing.T) {
	e := newEnv(t)
	u := mt.Users(t, e.pool, 2)
	a, b := u[0], u[1]
	mt.Contacts(t, e.pool, a, b)
	if code := e.do(a, "DELETE", "/v1/contacts/"+b, "", nil); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	if len(e.contacts(a)) != 0 || len(e.contacts(b)) != 0 {
		t.Fatal("removal is not both ways")
	}
	if code, c := e.problem(a, "DELETE", "/v1/contacts/"+b, ""); code != 404 || c != events.CodeNotFound {
		t.Fatalf("remove twice: %d %s", code, c)
	}
	rm := mt.OutboxRows(t, e.pool, events.TypeContactRemoved)
	if len(rm) != 1 {
		t.Fatalf("%d removed facts", len(rm))
	}
	f, err := events.Decode[events.ContactRemoved](rm[0])
	if err != nil || f.UserID != a || f.ContactID != b {
		t.Fatalf("removed fact %+v %v", f, err)
	}
}

func TestBlocks(t *testing.T) {
	e := newEnv(t)
	u := mt.Users(t, e.pool, 2)
	a, b := u[0], u[1]
	// b's pending request is rejected by a's block, so it cannot be accepted afterwards.
	req := e.request(b, a)
	if code := e.do(a, "POST", "/v1/blocks", fmt.Sprintf(`{"user_id":%q}`, b), nil); code != 204 {
		t.Fatalf("block: %d", code)
	}
	if code := e.do(a, "POST", "/v1/blocks", fmt.Sprintf(`{"user_id":%q}`, b), nil); code != 204 {
		t.Fatalf("block again: %d", code)
	}
	if code, c := e.problem(a, "POST", "/v1/contacts/requests/"+req.ID+"/accept", ""); code != 409 || c != events.CodeConflict {
		t.Fatalf("accept after block: %d %s", code, c)
	}
	if code, c := e.problem(a, "POST", "/v1/blocks", fmt.Sprintf(`{"user_id":%q}`, a)); code != 400 || c != events.CodeInvalidArgument {
		t.Fatalf("block self: %d %s", code, c)
	}
	if code, c := e.problem(a, "POST", "/v1/blocks", `{"user_id":"nobody"}`); code != 404 || c != events.CodeNotFound {
		t.Fatalf("block unknown: %d %s", code, c)
	}
	if code := e.do(a, "DELETE", "/v1/blocks/"+b, "", nil); code != 204 {
		t.Fatalf("unblock: %d", code)
	}
	// Unblocked: requests flow again.
	e.request(b, a)
}
