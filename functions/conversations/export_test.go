package conversations_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/conversations"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

// The export holds the caller's profile, contacts and conversations as their routes list them, and
// every message the caller sent (also in a conversation left), oldest first, and nobody else's;
// JSON over the cap is 413; NDJSON streams the same with an end line.
func TestExport(t *testing.T) {
	e := newEnv(t, send.Config{})
	u := mt.Users(t, e.pool, 3)
	me, peer, other := u[0], u[1], u[2]
	mt.Contacts(t, e.pool, me, peer)
	g := mt.Group(t, e.pool, other, me, peer)
	left := mt.Group(t, e.pool, other, me)
	var sent []string
	for i, conv := range []string{g, left, g} {
		code, m := e.send(me, conv, fmt.Sprint("mine-", i), fmt.Sprint("text ", i))
		if code != 201 {
			t.Fatalf("send: %d", code)
		}
		sent = append(sent, m.ID)
		time.Sleep(2 * time.Millisecond) // distinct created_at: the order is by time
	}
	e.send(peer, g, "theirs", "not mine")
	if code := e.do(me, "DELETE", "/v1/conversations/"+left+"/members/"+me, "", nil); code != 204 {
		t.Fatalf("leave: %d", code)
	}

	req := httptest.NewRequest("GET", "/v1/users/me/export", nil)
	req = req.WithContext(mt.As(req.Context(), me))
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment;") {
		t.Fatalf("json export: %d %v", rec.Code, rec.Header())
	}
	var ex events.Export
	if err := json.Unmarshal(rec.Body.Bytes(), &ex); err != nil {
		t.Fatalf("json export: %v: %s", err, rec.Body.String())
	}
	var contacts events.ContactsResponse
	e.do(me, "GET", "/v1/contacts", "", &contacts) // served by contacts in production; same query
	var convs events.ConversationsResponse
	e.do(me, "GET", "/v1/conversations", "", &convs)
	if ex.User.ID != me || len(ex.Contacts) != 1 || ex.Contacts[0].User.ID != peer || len(ex.Conversations) != len(convs.Conversations) ||
		ex.Conversations[0].ID != convs.Conversations[0].ID || ex.ExportedAt.IsZero() {
		t.Fatalf("export: %+v", ex)
	}
	if len(ex.Messages) != 3 {
		t.Fatalf("%d messages, want 3", len(ex.Messages))
	}
	for i, m := range ex.Messages {
		if m.ID != sent[i] || m.SenderID != me || m.Text != fmt.Sprint("text ", i) {
			t.Errorf("message %d: %+v", i, m)
		}
	}

	// NDJSON: the same content, one line each, the end line last.
	req = httptest.NewRequest("GET", "/v1/users/me/export", nil)
	req.Header.Set("Accept", "application/x-ndjson")
	req = req.WithContext(mt.As(req.Context(), me))
	rec = httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("ndjson export: %d %v", rec.Code, rec.Header())
	}
	var types []string
	var end events.ExportEnd
	for _, l := range strings.Split(strings.TrimSpace(rec.Body.String()), "\n") {
		var line struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		types = append(types, line.Type)
		if line.Type == "end" {
			_ = json.Unmarshal(line.Data, &end)
		}
	}
	want := "user,contact,conversation,message,message,message,end"
	if got := strings.Join(types, ","); got != want || end != (events.ExportEnd{Contacts: 1, Conversations: 1, Messages: 3}) {
		t.Fatalf("ndjson lines %s end %+v, want %s", got, end, want)
	}

	// The JSON cap: over it, 413; NDJSON is not capped.
	mux := http.NewServeMux()
	conversations.New(conversations.Config{MaxJSONExportMessages: 2}, conversations.Deps{Pool: e.pool, Log: mt.Log()}).Routes(mux)
	code, body := mt.Do(t, mux, me, "GET", "/v1/users/me/export", "", nil)
	if code != 413 || !strings.Contains(string(body), `"code":"payload_too_large"`) {
		t.Fatalf("over the cap: %d %s", code, body)
	}
}

// rssKB reads this process's resident set size (Linux).
func rssKB(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status: RSS cannot be measured here")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// The NDJSON export of 100,000 messages streams in bounded memory: the whole test process (the
// function, its pgx pool, and the client reading the stream) stays under 50 MB of RSS throughout.
// Run alone: go test -run TestExportNDJSONBoundedMemory -v ./functions/conversations/
func TestExportNDJSONBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 messages")
	}
	const n = 100_000
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	// ~200 bytes of text each: ~30 MB of NDJSON in all, more than the budget, so a buffered answer
	// would not fit.
	if _, err := pool.Exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, created_at)
		SELECT 'm-' || lpad(i::text, 7, '0'), $1, i, $2, 'c-' || i, 'text', repeat('x', 200), now() - (($3 - i) || ' ms')::interval
		FROM generate_series(1, $3) AS i`, conv, u[0], n); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE conversations SET last_seq = $2 WHERE id = $1`, conv, n); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	conversations.New(conversations.Config{}, conversations.Deps{Pool: pool, Log: mt.Log()}).Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(mt.As(r.Context(), u[0])))
	}))
	defer srv.Close()

	runtime.GC()
	debug.FreeOSMemory()
	before := rssKB(t)
	var peak atomic.Int64
	peak.Store(before)
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if v := rssKB(t); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	start := time.Now()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/users/me/export", nil)
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var msgs, bytes int
	var last string
	for sc.Scan() {
		bytes += len(sc.Bytes()) + 1
		if strings.HasPrefix(sc.Text(), `{"type":"message"`) {
			msgs++
		}
		last = sc.Text()
	}
	close(done)
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if msgs != n || !strings.Contains(last, fmt.Sprintf(`"messages":%d`, n)) {
		t.Fatalf("%d message lines, last %q", msgs, last)
	}
	peakMB := float64(peak.Load()) / 1024
	t.Logf("NDJSON export of %d messages: %.1f MB streamed in %v; process RSS %.1f MB before, peak %.1f MB",
		n, float64(bytes)/(1<<20), time.Since(start).Round(time.Millisecond), float64(before)/1024, peakMB)
	if peakMB > 50 {
		t.Fatalf("peak RSS %.1f MB exceeds the 50 MB budget", peakMB)
	}
}
