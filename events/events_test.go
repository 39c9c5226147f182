package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var at = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func sampleMessage() Message {
	return Message{ID: "0193a000-0000-7000-8000-000000000001", ConversationID: "conv-1", Seq: 7, SenderID: "user-a",
		ClientMsgID: "c-1", Type: MessageText, Text: "hello", Status: StatusNormal, CreatedAt: at}
}

// editedMessage is a v1.1 message with every new field set.
func editedMessage() Message {
	m := sampleMessage()
	m.Text, m.EditedAt = "hello again", &at
	m.Reactions = []Reaction{{Key: "👍", Count: 2}}
	m.ReplyTo = &ReplyTo{ID: "m-0", Seq: 6, SenderID: "user-b", Type: MessageText, TextPreview: "the question"}
	m.Mentions, m.MentionAll = []string{"user-b"}, true
	return m
}

// goldenCases covers one payload of every command, fact and delivery type.
func goldenCases() []struct {
	typ, key string
	data     Validator
} {
	user := User{ID: "user-a", Username: "alice", DisplayName: "Alice", CreatedAt: at}
	conv := Conversation{ID: "conv-1", Type: ConversationGroup, Title: "team", OwnerID: "user-a", MembersCount: 3, LastSeq: 7, UpdatedAt: at}
	req := ContactRequest{ID: "req-1", FromUserID: "user-a", ToUserID: "user-b", Message: "hi", Status: RequestPending, CreatedAt: at}
	file := File{ID: "file-1", OwnerID: "user-a", Filename: "a.png", ContentType: "image/png", Size: 42, Status: FileReady, CreatedAt: at}
	msgData, _ := json.Marshal(MessageFact{Message: sampleMessage()})
	report := Report{ID: "rep-1", MessageID: sampleMessage().ID, ConversationID: "conv-1", ReporterID: "user-b", ReportedUserID: "user-a",
		Reason: ReasonSpam, Note: "buy now", Status: ReportOpen, CreatedAt: at, Message: sampleMessage()}
	resolved := report
	resolved.Status, resolved.Action, resolved.ResolvedBy, resolved.ResolvedAt = ReportResolved, ActionRevokeMessage, "admin-1", &at
	return []struct {
		typ, key string
		data     Validator
	}{
		{TypeMessageSend, "conv-1", SendCommand{UserID: "user-a", ConversationID: "conv-1", SendMessage: SendMessage{ClientMsgID: "c-1", Type: MessageText, Text: "hello"}}},
		{TypeMessageRead, "conv-1", ReadCommand{UserID: "user-a", ConversationID: "conv-1", Seq: 7}},
		{TypeMessageRevoke, "conv-1", RevokeCommand{UserID: "user-a", MessageID: "m-1"}},
		{TypeTypingUpdate, "conv-1", TypingCommand{UserID: "user-a", ConversationID: "conv-1", State: TypingStart}},
		{TypeCallSignal, "conv-1", CallSignal{Kind: "invite", CallID: "call-1", FromUserID: "user-a", ConversationID: "conv-1"}},
		{TypeCommandRejected, "user-a", CommandRejected{CorrelationID: "edge-1/s/1", UserID: "user-a", Code: CodeNotFound, Message: "conversation not found"}},
		{TypeUserRegistered, "user-a", UserFact{User: user}},
		{TypeUserUpdated, "user-a", UserFact{User: user}},
		{TypeUserDeleted, "user-a", UserDeleted{UserID: "user-a", Erase: true}},
		{TypeSessionRevoked, "user-a", SessionRevoked{UserID: "user-a", SessionID: "sess-1", Reason: "logout"}},
		{TypeContactRequested, "user-b", ContactFact{Request: req}},
		{TypeContactAccepted, "user-a", ContactFact{Request: req}},
		{TypeContactRemoved, "user-a", ContactRemoved{UserID: "user-a", ContactID: "user-b"}},
		{TypeConversationCreated, "conv-1", ConversationFact{Conversation: conv, MemberIDs: []string{"user-a", "user-b", "user-c"}, ActorID: "user-a"}},
		{TypeConversationUpdated, "conv-1", ConversationFact{Conversation: conv, ActorID: "user-a"}},
		{TypeMemberAdded, "conv-1", MemberFact{ConversationID: "conv-1", UserIDs: []string{"user-d"}, Role: RoleMember, ActorID: "user-a"}},
		{TypeMemberRemoved, "conv-1", MemberFact{ConversationID: "conv-1", UserIDs: []string{"user-d"}, ActorID: "user-a"}},
		{TypeMessageCreated, "conv-1", MessageFact{Message: sampleMessage()}},
		{TypeMessageRevoked, "conv-1", MessageFact{Message: Message{ID: "m-1", ConversationID: "conv-1", Seq: 7, SenderID: "user-a", ClientMsgID: "c-1", Type: MessageText, Status: StatusRevoked, CreatedAt: at}, ActorID: "user-a"}},
		{TypeMessageEdited, "conv-1", MessageFact{Message: editedMessage(), ActorID: "user-a"}},
		{TypeReactionChanged, "conv-1", ReactionChanged{ConversationID: "conv-1", MessageID: "m-1", UserID: "user-b", Key: "👍", Op: ReactionAdd, Reactions: []Reaction{{Key: "👍", Count: 2}, {Key: "heart", Count: 1}}}},
		{TypeConversationPinned, "conv-1", ConversationPinned{ConversationID: "conv-1", MessageID: "m-1", Pinned: true, UserID: "user-a", PinnedAt: at}},
		{TypeConversationRead, "conv-1", ConversationRead{ConversationID: "conv-1", UserID: "user-b", Seq: 7}},
		{TypeFileUploaded, "user-a", FileFact{File: file}},
		{TypeFileRejected, "user-a", FileFact{File: File{ID: "file-2", OwnerID: "user-a", Filename: "x.png", ContentType: "image/png", Size: 9, Status: FileRejected, CreatedAt: at}, Reason: "content does not match image/png"}},
		{TypePresenceChanged, "user-a", PresenceChanged{UserID: "user-a", Online: true, LastSeenAt: at}},
		{TypeMessageErased, "conv-1", MessageErased{ConversationID: "conv-1", SenderID: "user-a", UpToSeq: 7}},
		{TypeReportCreated, "conv-1", ReportFact{Report: report}},
		{TypeReportResolved, "conv-1", ReportFact{Report: resolved}},
		{TypeDelivery, "conv-1", Delivery{Recipients: []string{"user-a", "user-b"}, Event: DeliveredEvent{ID: "ev-1", Type: TypeMessageCreated, Subject: "conv-1", CorrelationID: "edge-1/s/1", Time: at, ConversationID: "conv-1", Seq: 7, Data: msgData}}},
	}
}

func build(t *testing.T, typ, key string, data Validator) event.Event {
	t.Helper()
	e, err := New("ev-"+typ, Source("functions/test"), typ, key, data)
	if err != nil {
		t.Fatalf("New(%s): %v", typ, err)
	}
	e.SetTime(at)
	if typ == TypeMessageCreated || typ == TypeCommandRejected {
		e.SetExtension(ExtCorrelationID, "edge-1/s/1")
	}
	return e
}

func TestCatalogCoversEveryType(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range goldenCases() {
		seen[c.typ] = true
	}
	for _, typ := range append(append(CommandTypes(), FactTypes()...), TypeCommandRejected, TypeDelivery) {
		if !seen[typ] {
			t.Errorf("no golden case for %s", typ)
		}
		if !strings.HasPrefix(typ, "im.") || !strings.HasSuffix(typ, ".v1") {
			t.Errorf("%s does not follow im.<noun>.<verb>.v1", typ)
		}
	}
}

// TestGolden renders each event in structured JSON and compares it with testdata/<type>.json, then
// decodes the golden file back and checks the payload survives unchanged.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.typ, func(t *testing.T) {
			e := build(t, c.typ, c.key, c.data)
			got, err := json.MarshalIndent(e, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.typ+".json")
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update once)", err)
			}
			if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
				t.Fatalf("%s changed:\n got %s\nwant %s", path, got, want)
			}
			var back event.Event
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatal(err)
			}
			if back.Type() != c.typ || PartitionKey(back) != c.key {
				t.Fatalf("decoded type %q key %q", back.Type(), PartitionKey(back))
			}
			if !sameJSON(back.Data(), e.Data()) {
				t.Fatalf("data changed: %s vs %s", back.Data(), e.Data())
			}
		})
	}
}

func TestKafkaBinaryRoundTrip(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.typ, func(t *testing.T) {
			e := build(t, c.typ, c.key, c.data)
			r, err := ToRecord(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Key) != c.key {
				t.Fatalf("key %q, want partitionkey %q", r.Key, c.key)
			}
			if header(r.Headers, "ce_type") != c.typ || header(r.Headers, "content-type") != "application/json" {
				t.Fatalf("binary headers wrong: %+v", r.Headers)
			}
			if string(r.Value) != string(e.Data()) {
				t.Fatalf("value is not the data")
			}
			back, err := FromRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			if back.ID() != e.ID() || back.Source() != e.Source() || back.Type() != e.Type() ||
				back.Subject() != e.Subject() || !back.Time().Equal(e.Time()) || string(back.Data()) != string(e.Data()) {
				t.Fatalf("round trip changed the event:\n%v\n%v", e, back)
			}
			if StringExtension(back, ExtCorrelationID) != StringExtension(e, ExtCorrelationID) {
				t.Fatalf("correlationid lost")
			}
		})
	}
}

func TestKafkaStructuredAndPlain(t *testing.T) {
	e := build(t, TypeMessageCreated, "conv-1", MessageFact{Message: sampleMessage()})
	body, _ := json.Marshal(e)
	back, err := FromRecord(Record{Value: body, Headers: []Header{{"content-type", []byte("application/cloudevents+json; charset=utf-8")}}})
	if err != nil || back.ID() != e.ID() || string(back.Data()) != string(e.Data()) {
		t.Fatalf("structured: %v %v", back, err)
	}
	_, err = FromRecord(Record{Value: []byte(`{"Records":[]}`)})
	if !errors.Is(err, ErrNotCloudEvent) {
		t.Fatalf("plain record: %v, want ErrNotCloudEvent", err)
	}
	w := WrapRecord("parley", "s3-events", "s3.events", 3, 42, Record{Key: []byte("k"), Value: []byte(`{"a":1}`), Headers: []Header{{"X-Trace", []byte("t")}}}, at)
	if w.Type() != TypeKafkaRecord || w.ID() != "partition:3/offset:42" || StringExtension(w, "key") != "k" ||
		StringExtension(w, "kafkaheaderxtrace") != "t" || w.Source() != "/apis/v1/namespaces/parley/kafkasources/s3-events#s3.events" {
		t.Fatalf("wrapped record: %v", w)
	}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRejectsPoison(t *testing.T) {
	e := build(t, TypeMessageSend, "conv-1", SendCommand{UserID: "u", ConversationID: "c", SendMessage: SendMessage{ClientMsgID: "1", Type: MessageText, Text: "x"}})
	if _, err := Decode[SendCommand](e); err != nil {
		t.Fatalf("valid command refused: %v", err)
	}
	_ = e.SetData(event.ApplicationJSON, map[string]any{"user_id": "u", "conversation_id": "c", "client_msg_id": "1", "type": "text"})
	_, err := Decode[SendCommand](e)
	if AsError(err).Code != CodeInvalidArgument || AsError(err).Field != "text" {
		t.Fatalf("empty text: %v", err)
	}
	e.DataEncoded = []byte("{not json")
	if _, err := Decode[SendCommand](e); AsError(err).Code != CodeInvalidArgument {
		t.Fatalf("garbage: %v", err)
	}
}

func TestErrorCatalog(t *testing.T) {
	want := map[Code]int{
		CodeInvalidArgument: 400, CodeUnauthenticated: 401, CodeForbidden: 403, CodeNotFound: 404, CodeConflict: 409,
		CodeUsernameTaken: 409, CodeNotContacts: 403, CodeBlocked: 403, CodeRevokeWindowExpired: 409, CodeFileNotReady: 409,
		CodePayloadTooLarge: 413, CodeUnsupportedMediaType: 415, CodeRateLimited: 429, CodeUnavailable: 503, CodeInternal: 500,
		CodeEditWindowExpired: 409, CodeLimitExceeded: 409,
	}
	if len(Codes()) != len(want) {
		t.Fatalf("catalog has %d codes, API.md (v1 and v1.1) %d", len(Codes()), len(want))
	}
	for _, c := range Codes() {
		if got := c.Spec().Status; got != want[c] {
			t.Errorf("%s -> %d, want %d", c, got, want[c])
		}
	}
	wrapped := errors.Join(errors.New("ctx"), Wrap(CodeNotFound, errors.New("no rows"), "conversation not found"))
	p := ProblemOf(wrapped)
	if p.Code != CodeNotFound || p.Status != 404 || p.Detail != "conversation not found" {
		t.Fatalf("wrapped error mapped to %+v", p)
	}
	if p := ProblemOf(errors.New("secret db detail")); p.Code != CodeInternal || strings.Contains(p.Detail, "secret") {
		t.Fatalf("unknown error leaked: %+v", p)
	}
}

func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return ca.String() == cb.String()
}

func TestDeadlineSurvivesKafkaAndExpires(t *testing.T) {
	e, err := New("id-1", "/edge", TypeMessageSend, "c1",
		SendCommand{UserID: "u1", ConversationID: "c1", SendMessage: SendMessage{ClientMsgID: "m1", Type: MessageText, Text: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	if Expired(e, now.Add(time.Hour)) {
		t.Fatal("a command without a deadline never expires")
	}
	SetDeadline(&e, now.Add(1500*time.Millisecond))
	rec, err := ToRecord(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if Expired(back, now.Add(1499*time.Millisecond)) {
		t.Fatal("expired before its deadline")
	}
	if !Expired(back, now.Add(1501*time.Millisecond)) {
		t.Fatal("not expired after its deadline")
	}
}

func TestBinaryTypeWithoutDecoding(t *testing.T) {
	e, err := New("id-2", "/x", TypeMessageRead, "c1", ReadCommand{UserID: "u1", ConversationID: "c1", Seq: 3})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ToRecord(e)
	if err != nil {
		t.Fatal(err)
	}
	if typ, ok := rec.BinaryType(); !ok || typ != TypeMessageRead {
		t.Fatalf("binary record: %q %v", typ, ok)
	}
	structured := Record{Value: []byte(`{"specversion":"1.0","id":"1","source":"/x","type":"t"}`),
		Headers: []Header{{Key: "content-type", Value: []byte("application/cloudevents+json")}}}
	if _, ok := structured.BinaryType(); ok {
		t.Fatal("a structured record has no binary type header")
	}
}
