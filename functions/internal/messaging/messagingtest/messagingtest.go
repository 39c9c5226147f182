// Package messagingtest has the fixtures the messaging functions' tests share: users, conversations,
// an authenticated request context, and a recording Publisher behind a real outbox.
package messagingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/postgres"
)

// BrokerTopic is the topic the test outboxes write.
const BrokerTopic = "broker"

// Log discards.
func Log() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Publisher records what is published; Fail makes Publish fail.
type Publisher struct {
	mu     sync.Mutex
	Events []event.Event
	Calls  int // Publish calls that succeeded (a batched flush is one)
	Fail   error
}

// Publish records evs.
func (p *Publisher) Publish(_ context.Context, _ string, evs ...event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Fail != nil {
		return p.Fail
	}
	p.Events = append(p.Events, evs...)
	p.Calls++
	return nil
}

// Published returns a copy of what was published, optionally only of the given types.
func (p *Publisher) Published(types ...string) []event.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []event.Event
	for _, e := range p.Events {
		if len(types) == 0 || slices.Contains(types, e.Type()) {
			out = append(out, e)
		}
	}
	return out
}

// PublishCalls returns how many Publish calls succeeded.
func (p *Publisher) PublishCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Calls
}

// Outbox returns a real outbox over pool publishing to a recording Publisher.
func Outbox(pool *pgxpool.Pool) (*postgres.Outbox, *Publisher) {
	pub := &Publisher{}
	return postgres.NewOutbox(pool, pub, BrokerTopic, Log()), pub
}

// Relay runs a relay over ob for the test's lifetime.
func Relay(tb testing.TB, ob *postgres.Outbox) *postgres.Relay {
	r := ob.NewRelay(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return r
}

// Published waits until r has published everything handed to it (bounded by a few seconds).
func Published(tb testing.TB, r *postgres.Relay) {
	tb.Helper()
	select {
	case <-r.Idle():
	case <-time.After(5 * time.Second):
		tb.Fatal("relay still publishing after 5s")
	}
}

// As returns ctx authenticated as userID.
func As(ctx context.Context, userID string) context.Context {
	return auth.WithPrincipal(ctx, auth.Principal{UserID: userID, SessionID: "s-" + userID})
}

// Users inserts n users and returns their ids.
func Users(tb testing.TB, pool *pgxpool.Pool, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = messaging.NewID()
		if _, err := pool.Exec(context.Background(), `INSERT INTO users (id, username, display_name, password_hash) VALUES ($1, $2, $3, '')`,
			ids[i], fmt.Sprintf("u%s", ids[i][len(ids[i])-12:]), "User"); err != nil {
			tb.Fatalf("insert user: %v", err)
		}
	}
	return ids
}

// Group inserts a group owned by members[0] with the others as members and returns its id.
func Group(tb testing.TB, pool *pgxpool.Pool, members ...string) string {
	tb.Helper()
	ctx := context.Background()
	id := messaging.NewID()
	if _, err := pool.Exec(ctx, `INSERT INTO conversations (id, type, title, owner_id, members_count) VALUES ($1, 'group', 'g', $2, $3)`,
		id, members[0], len(members)); err != nil {
		tb.Fatalf("insert group: %v", err)
	}
	for i, m := range members {
		role := "member"
		if i == 0 {
			role = "owner"
		}
		if _, err := pool.Exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, role) VALUES ($1, $2, $3)`, id, m, role); err != nil {
			tb.Fatalf("insert member: %v", err)
		}
	}
	return id
}

// Contacts makes a and b accepted contacts.
func Contacts(tb testing.TB, pool *pgxpool.Pool, a, b string) {
	tb.Helper()
	if _, err := pool.Exec(context.Background(), `INSERT INTO contacts (user_id, contact_id) VALUES ($1, $2), ($2, $1)`, a, b); err != nil {
		tb.Fatalf("contacts: %v", err)
	}
}

// OutboxRows returns the stored outbox events of the given type, oldest first.
func OutboxRows(tb testing.TB, pool *pgxpool.Pool, typ string) []event.Event {
	tb.Helper()
	rows, err := pool.Query(context.Background(), `SELECT event FROM outbox WHERE event->>'type' = $1 ORDER BY created_at, id`, typ)
	if err != nil {
		tb.Fatalf("outbox: %v", err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var e event.Event
		if err := rows.Scan(&e); err != nil {
			tb.Fatalf("outbox row: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// Do serves one request to h as userID (the guard's work done: the principal is in the context) and
// decodes a 2xx JSON answer into out (when not nil). It returns the status and the raw body.
func Do(tb testing.TB, h http.Handler, userID, method, path, body string, out any) (int, []byte) {
	tb.Helper()
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req = req.WithContext(As(req.Context(), userID))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			tb.Fatalf("%s %s: decode %q: %v", method, path, rec.Body.String(), err)
		}
	}
	return rec.Code, rec.Body.Bytes()
}

// PostEvent delivers e to h the way a Knative trigger does (HTTP POST, CloudEvents binary mode) and
// returns the status and the reply event, if any.
func PostEvent(tb testing.TB, h http.Handler, e event.Event) (int, *event.Event) {
	tb.Helper()
	return PostBinary(tb, h, e, e.Data())
}

// PostBinary is PostEvent with the body replaced by data (for poison payloads).
func PostBinary(tb testing.TB, h http.Handler, e event.Event, data []byte) (int, *event.Event) {
	tb.Helper()
	req := httptest.NewRequest("POST", "/", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", e.ID())
	req.Header.Set("ce-source", e.Source())
	req.Header.Set("ce-type", e.Type())
	if e.Subject() != "" {
		req.Header.Set("ce-subject", e.Subject())
	}
	for k, v := range e.Extensions() {
		req.Header.Set("ce-"+k, fmt.Sprint(v))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("ce-type") == "" {
		return rec.Code, nil
	}
	reply, err := cloudevents.NewEventFromHTTPResponse(rec.Result())
	if err != nil {
		tb.Fatalf("decode reply: %v", err)
	}
	return rec.Code, reply
}
