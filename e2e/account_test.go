//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// Mute through the public API: the caller's own, listed while in the future, null unmutes,
// strangers 404.
func TestMuteSettings(t *testing.T) {
	ctx := timeout(t, 30*time.Second)
	a, b, stranger := newUser(t), newUser(t), newUser(t)
	conv := befriend(t, a, b)
	hour := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	s, err := b.SetMute(ctx, conv.ID, &hour)
	if err != nil || s.MutedUntil == nil || !s.MutedUntil.Equal(hour) || s.ConversationID != conv.ID {
		t.Fatalf("mute: %+v %v", s, err)
	}
	muted := func(u *user) *time.Time {
		cs, err := u.Conversations(ctx)
		if err != nil || len(cs) != 1 {
			t.Fatalf("list: %+v %v", cs, err)
		}
		return cs[0].MutedUntil
	}
	if m := muted(b); m == nil || !m.Equal(hour) {
		t.Fatalf("b's list: %v", m)
	}
	if muted(a) != nil {
		t.Fatal("b's mute shows in a's list")
	}
	if s, err := b.SetMute(ctx, conv.ID, nil); err != nil || s.MutedUntil != nil || muted(b) != nil {
		t.Fatalf("unmute: %+v %v", s, err)
	}
	_, err = stranger.SetMute(ctx, conv.ID, &hour)
	expectCode(t, "stranger", err, events.CodeNotFound)
}

// The data export through the public API: JSON with the caller's messages only, NDJSON with the end
// line, both attachments.
func TestExportMyData(t *testing.T) {
	ctx := timeout(t, 30*time.Second)
	a, b := newUser(t), newUser(t)
	conv := befriend(t, a, b)
	mine, err := a.SendMessage(ctx, conv.ID, text("mine"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SendMessage(ctx, conv.ID, text("theirs")); err != nil {
		t.Fatal(err)
	}
	status, h, body, err := a.Export(ctx, false)
	if err != nil || status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("json export: %d %v %v", status, h, err)
	}
	var ex events.Export
	if err := json.Unmarshal(body, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.User.ID != a.UserID() || len(ex.Contacts) != 1 || len(ex.Conversations) != 1 || len(ex.Messages) != 1 ||
		ex.Messages[0].ID != mine.ID || ex.Messages[0].Text != "mine" {
		t.Fatalf("export: %+v", ex)
	}
	status, h, body, err = a.Export(ctx, true)
	if err != nil || status != http.StatusOK || h.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("ndjson export: %d %v %v", status, h, err)
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	var last events.ExportLine
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if len(lines) != 5 || last.Type != "end" {
		t.Fatalf("ndjson: %d lines, last %s", len(lines), lines[len(lines)-1])
	}
}

// Erasure through the public API: before the 204 every message of the user is blank on every read
// path of the others (history, last_message), members get message.erased once per conversation, the
// user's files are gone.
func TestDeleteAccountAndErase(t *testing.T) {
	ctx := timeout(t, 90*time.Second)
	eraser, peer, other := newUser(t), newUser(t), newUser(t)
	direct := befriend(t, eraser, peer)
	g := group(t, other, eraser, peer)
	ce := eraser.dial(t, 0)
	img := pngBytes(t, 32, 32)
	created, err := eraser.CreateFile(ctx, events.CreateFileRequest{Filename: "me.png", ContentType: "image/png", Size: int64(len(img))})
	if err != nil {
		t.Fatal(err)
	}
	if err := eraser.Upload(ctx, created.Upload, img); err != nil {
		t.Fatal(err)
	}
	if _, err := ce.Await(ctx, func(f events.Frame) bool { return f.Type == events.FrameFileReady }); err != nil {
		t.Fatal(err)
	}
	var last events.Message
	for _, m := range []struct {
		conv string
		msg  events.SendMessage
	}{{direct.ID, text("secret 1")}, {g.ID, text("secret 2")},
		{g.ID, events.SendMessage{ClientMsgID: "img-" + randHex(4), Type: events.MessageImage, FileID: created.File.ID}}} {
		if last, err = eraser.SendMessage(ctx, m.conv, m.msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := peer.SendMessage(ctx, g.ID, text("peer stays")); err != nil {
		t.Fatal(err)
	}
	cp := peer.dial(t, 1)

	if err := eraser.DeleteMeErase(ctx, eraser.password); err != nil {
		t.Fatal(err)
	}
	// Every read path, right after the 204.
	hist, err := peer.AllHistory(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		erased := m.SenderID == eraser.UserID()
		if erased && (m.Status != events.StatusErased || m.Text != "" || m.File != nil || m.ClientMsgID == "" || m.Seq == 0) {
			t.Errorf("erased message reads %+v", m)
		}
		if !erased && (m.Status != events.StatusNormal || m.Text != "peer stays") {
			t.Errorf("peer's message changed: %+v", m)
		}
	}
	cs, err := peer.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == direct.ID && (c.LastMessage == nil || c.LastMessage.Status != events.StatusErased || c.LastMessage.Text != "") {
			t.Errorf("direct last_message: %+v", c.LastMessage)
		}
	}
	// message.erased, once per conversation, up to the eraser's last seq there.
	seen := map[string]events.MessageErased{}
	for len(seen) < 2 {
		f, err := cp.Await(ctx, func(f events.Frame) bool { return f.Type == events.FrameMessageErased })
		if err != nil {
			t.Fatalf("message.erased pushes: %v (got %v)", err, seen)
		}
		var d events.MessageErased
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatal(err)
		}
		if _, dup := seen[d.ConversationID]; dup {
			t.Fatalf("message.erased twice for %s", d.ConversationID)
		}
		seen[d.ConversationID] = d
	}
	if err := cp.AwaitNone(ctx, time.Second, func(f events.Frame) bool { return f.Type == events.FrameMessageErased }); err != nil {
		t.Fatalf("a third message.erased: %v", err)
	}
	if d := seen[g.ID]; d.SenderID != eraser.UserID() || d.UpToSeq != last.Seq {
		t.Fatalf("group erased push: %+v, want up to %d", d, last.Seq)
	}
	// The file is gone with its owner.
	_, err = peer.GetFile(ctx, created.File.ID)
	if client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("the erased user's file: %v", err)
	}
}
