package check

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

func TestWrongAnswersFailTheCheck(t *testing.T) {
	l := NewLedger()
	own := events.Message{ID: "m1", ConversationID: "c1", Seq: 1, ClientMsgID: "a"}
	l.Acked("c1", "a", own)
	rep, err := NothingLost(context.Background(), l, nil, Options{})
	if err != nil || rep.WrongAnswers != 0 || rep.Acked != 1 {
		t.Fatalf("own answer: report %+v, err %v", rep, err)
	}

	l.Acked("c1", "b", own)                                                                      // b answered with a's message
	l.Acked("c1", "c", events.Message{ID: "m3", ConversationID: "c2", Seq: 1, ClientMsgID: "c"}) // another conversation
	rep, err = NothingLost(context.Background(), l, nil, Options{})
	if rep.WrongAnswers != 2 || err == nil {
		t.Fatalf("two wrong answers: report %+v, err %v", rep, err)
	}
	for _, want := range []string{"send b to c1 answered with message m1", "send c to c1 answered with message m3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if l.AckedCount() != 1 {
		t.Errorf("a wrong answer was counted as acked: %d", l.AckedCount())
	}
}

// TestLostEditFailsTheCheck: an edit answered but not in a member's history, or not pushed to a
// watched connection, fails the check; the latest edit is the one checked.
func TestLostEditFailsTheCheck(t *testing.T) {
	at := func(s int) *time.Time { v := time.Unix(int64(s), 0).UTC(); return &v }
	m := events.Message{ID: "m1", ConversationID: "c1", Seq: 1, ClientMsgID: "a", Type: "text", Text: "v0", Status: "normal"}
	history := "v2"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := m
		h.Text = history
		_ = json.NewEncoder(w).Encode(events.MessagesResponse{Messages: []events.Message{h}})
	}))
	defer srv.Close()
	api, err := client.New(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	l := NewLedger()
	l.Acked("c1", "a", m)
	l.pushes["u1/conn"] = &receiver{userID: "u1"}
	l.Pushed("u1", "u1/conn", m)
	e1, e2 := m, m
	e1.Text, e1.EditedAt = "v1", at(1)
	e2.Text, e2.EditedAt = "v2", at(2)
	l.Edited(e2)
	l.Edited(e1) // answered later but older: the check keeps v2
	l.pushedEdit("u1/conn", e2)
	members := []Member{{UserID: "u1", API: api}}
	rep, err := NothingLost(context.Background(), l, members, Options{PushRequired: true})
	if err != nil || rep.Edited != 1 {
		t.Fatalf("edit kept: %+v %v", rep, err)
	}
	history = "v1"
	if _, err := NothingLost(context.Background(), l, members, Options{}); err == nil || !strings.Contains(err.Error(), "edit lost") {
		t.Fatalf("history with an old text: %v", err)
	}
	history = "v2"
	l.pushes["u1/conn"].edited = nil
	if _, err := NothingLost(context.Background(), l, members, Options{PushRequired: true}); err == nil || !strings.Contains(err.Error(), "edit not pushed") {
		t.Fatalf("edit never pushed: %v", err)
	}
}
