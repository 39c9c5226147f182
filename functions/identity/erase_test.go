package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/internal/messaging"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/infra/s3"
	"github.com/parley-im/parley/infra/s3/s3test"
)

// DELETE /v1/users/me with erase:true erases, before the 204, every message the user sent (envelope
// kept, content gone from storage, status erased on every read path), their files and thumbnails in
// S3 and their file rows, and their push devices; it emits im.message.erased once per conversation
// (up to the highest seq) and im.user.deleted with erase:true. Other users' messages and files stay.
func TestDeleteMeErase(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t, s3test.Options{})
	store := srv.Client(t, srv.Config("files"))
	e := newEnv(t, envOptions{objects: store})
	erin, other := e.register("erin", "password1"), e.register("olga", "password1")
	eid, oid := erin.User.ID, other.User.ID
	pool := e.pool
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	g1 := mt.Group(t, pool, oid, eid)
	g2 := mt.Group(t, pool, eid, oid)
	// Erin: a text, an image with its file, a custom payload, a revoked one; Olga: one text.
	exec(`INSERT INTO files (id, owner_id, filename, content_type, size, status, object_key, thumbnail_key)
		VALUES ('f-erin', $1, 'a.png', 'image/png', 1, 'ready', 'u/'||$1||'/abc', 'u/'||$1||'/abc.thumb'),
		       ('f-olga', $2, 'b.png', 'image/png', 1, 'ready', 'u/'||$2||'/def', NULL)`, eid, oid)
	for _, k := range []string{"u/" + eid + "/abc", "u/" + eid + "/abc.thumb", "u/" + eid + "/pending", "u/" + oid + "/def"} {
		if err := store.Put(ctx, k, "image/png", strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	msg := func(id, conv string, seq int, sender, typ, text, file, payload string) {
		t.Helper()
		var f, p any
		if file != "" {
			f = file
		}
		if payload != "" {
			p = payload
		}
		exec(`INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, file_id, payload, created_at)
			VALUES ($1, $2, $3, $4, $1, $5, $6, $7, $8, now())`, id, conv, seq, sender, typ, text, f, p)
		exec(`UPDATE conversations SET last_seq = $2 WHERE id = $1 AND last_seq < $2`, conv, seq)
	}
	msg("m1", g1, 1, eid, "text", "secret one", "", "")
	msg("m2", g1, 2, oid, "text", "olga speaks", "", "")
	msg("m3", g1, 3, eid, "image", "", "f-erin", "")
	msg("m4", g2, 1, eid, "custom", "", "", `{"k":"secret"}`)
	msg("m5", g2, 2, eid, "text", "", "", "")
	exec(`UPDATE messages SET status = 'revoked' WHERE id = 'm5'`)
	msg("m6", g2, 3, oid, "image", "", "f-olga", "")
	exec(`INSERT INTO push_devices (user_id, device_id, platform, token) VALUES ($1, 'd1', 'fcm', 't')`, eid)

	want(t, "erase", e.do("DELETE", "/v1/users/me", erin.Tokens.AccessToken, events.DeleteMeRequest{Password: "password1", Erase: true}),
		http.StatusNoContent, "")

	// Storage: erin's messages keep only the envelope; olga's are untouched.
	for id, wantStatus := range map[string]string{"m1": "erased", "m3": "erased", "m4": "erased", "m5": "erased", "m2": "normal", "m6": "normal"} {
		m, err := messaging.LoadMessage(ctx, pool, id, "")
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != wantStatus {
			t.Errorf("%s: status %s, want %s", id, m.Status, wantStatus)
		}
		if wantStatus == "erased" && (m.Text != "" || m.File != nil || m.Payload != nil || m.SenderID != eid || m.ClientMsgID != id || m.Seq == 0 || m.CreatedAt.IsZero()) {
			t.Errorf("%s kept content or lost its envelope: %+v", id, m)
		}
	}
	var leftText string
	_ = pool.QueryRow(ctx, `SELECT coalesce(string_agg(text || coalesce(payload::text, '') || coalesce(file_id, ''), ''), '') FROM messages WHERE sender_id = $1`, eid).Scan(&leftText)
	if leftText != "" {
		t.Fatalf("content left in storage: %q", leftText)
	}
	// Read paths: history and last_message (the conversations function's queries).
	hist, _, err := messaging.History(ctx, pool, g1, messaging.Page{Forward: true, Limit: 50})
	if err != nil || len(hist) != 3 || hist[0].Status != "erased" || hist[0].Text != "" || hist[1].Text != "olga speaks" || hist[2].File != nil {
		t.Fatalf("history: %+v %v", hist, err)
	}
	mux := http.NewServeMux()
	conversations.New(conversations.Config{}, conversations.Deps{Pool: pool, Log: mt.Log()}).Routes(mux)
	var list events.ConversationsResponse
	if code, _ := mt.Do(t, mux, oid, "GET", "/v1/conversations", "", &list); code != 200 {
		t.Fatalf("list: %d", code)
	}
	for _, c := range list.Conversations {
		lm := c.LastMessage
		if c.ID == g1 && (lm == nil || lm.ID != "m3" || lm.Status != "erased" || lm.File != nil) {
			t.Errorf("g1 last_message: %+v", lm)
		}
	}

	// Facts: one im.message.erased per conversation, up to erin's highest seq there.
	rows, _ := pool.Query(ctx, `SELECT event FROM outbox WHERE event->>'type' = $1`, events.TypeMessageErased)
	got := map[string]events.MessageErased{}
	for rows.Next() {
		var raw json.RawMessage
		_ = rows.Scan(&raw)
		var ev struct {
			Subject string               `json:"subject"`
			Data    events.MessageErased `json:"data"`
		}
		_ = json.Unmarshal(raw, &ev)
		if ev.Subject != ev.Data.ConversationID {
			t.Errorf("erased fact keyed %s for %s", ev.Subject, ev.Data.ConversationID)
		}
		got[ev.Data.ConversationID] = ev.Data
	}
	if len(got) != 2 || got[g1].UpToSeq != 3 || got[g2].UpToSeq != 2 || got[g1].SenderID != eid {
		t.Fatalf("erased facts: %+v", got)
	}
	var deleted events.UserDeleted
	_ = pool.QueryRow(ctx, `SELECT event->'data' FROM outbox WHERE event->>'type' = $1`, events.TypeUserDeleted).Scan(&deleted)
	if !deleted.Erase || deleted.UserID != eid {
		t.Fatalf("user deleted: %+v", deleted)
	}

	// Files: erin's objects (upload, thumbnail, a pending upload) and file row gone; olga's stay.
	for _, k := range []string{"u/" + eid + "/abc", "u/" + eid + "/abc.thumb", "u/" + eid + "/pending"} {
		if _, err := store.Head(ctx, k); !s3.IsNotFound(err) {
			t.Errorf("%s still stored: %v", k, err)
		}
	}
	if _, err := store.Head(ctx, "u/"+oid+"/def"); err != nil {
		t.Errorf("olga's file deleted: %v", err)
	}
	var files []string
	r2, _ := pool.Query(ctx, `SELECT id FROM files ORDER BY id`)
	for r2.Next() {
		var id string
		_ = r2.Scan(&id)
		files = append(files, id)
	}
	if !slices.Equal(files, []string{"f-olga"}) {
		t.Fatalf("file rows: %v", files)
	}
	var devices int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM push_devices WHERE user_id = $1`, eid).Scan(&devices)
	if devices != 0 {
		t.Fatalf("%d push devices left", devices)
	}
}
