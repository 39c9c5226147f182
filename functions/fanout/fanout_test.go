package fanout_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/fanout"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/postgres/pgtest"
)

func fact(t *testing.T, typ, key string, data events.Validator) event.Event {
	t.Helper()
	e, err := events.New("fact-"+typ, "/parley/test", typ, key, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestRecipientsPerFactType(t *testing.T) {
	pool, _ := pgtest.New(t)
	h := fanout.New(fanout.Config{}, fanout.Deps{Pool: pool, Publisher: &mt.Publisher{}, Log: mt.Log()})
	u := mt.Users(t, pool, 6)
	owner, m1, m2, removed, friend, other := u[0], u[1], u[2], u[3], u[4], u[5]
	conv := mt.Group(t, pool, owner, m1, m2)
	mt.Contacts(t, pool, owner, friend)
	mt.Contacts(t, pool, owner, m1)
	members := []string{owner, m1, m2}
	msg := events.Message{ID: "m1", ConversationID: conv, Seq: 1, SenderID: owner, Type: "text"}
	req := events.ContactRequest{ID: "r1", FromUserID: owner, ToUserID: other, Status: events.RequestPending}

	cases := []struct {
		name string
		e    event.Event
		want []string
	}{
		{"message created", fact(t, events.TypeMessageCreated, conv, events.MessageFact{Message: msg}), members},
		{"message revoked", fact(t, events.TypeMessageRevoked, conv, events.MessageFact{Message: msg}), members},
		{"message edited", fact(t, events.TypeMessageEdited, conv, events.MessageFact{Message: msg, ActorID: owner}), members},
		{"reaction", fact(t, events.TypeReactionChanged, conv, events.ReactionChanged{ConversationID: conv, MessageID: "m1",
			UserID: m1, Key: "ok", Op: events.ReactionAdd, Reactions: []events.Reaction{{Key: "ok", Count: 1}}}), members},
		{"pinned", fact(t, events.TypeConversationPinned, conv, events.ConversationPinned{ConversationID: conv, MessageID: "m1",
			Pinned: true, UserID: owner, PinnedAt: time.Now()}), members},
		{"message erased", fact(t, events.TypeMessageErased, conv, events.MessageErased{ConversationID: conv, SenderID: owner, UpToSeq: 1}), members},
		{"read", fact(t, events.TypeConversationRead, conv, events.ConversationRead{ConversationID: conv, UserID: m1, Seq: 1}), members},
		{"conversation created", fact(t, events.TypeConversationCreated, conv,
			events.ConversationFact{Conversation: events.Conversation{ID: conv}, MemberIDs: members}), members},
		{"conversation updated", fact(t, events.TypeConversationUpdated, conv,
			events.ConversationFact{Conversation: events.Conversation{ID: conv}}), members},
		{"member added", fact(t, events.TypeMemberAdded, conv, events.MemberFact{ConversationID: conv, UserIDs: []string{m2}}), members},
		{"member removed includes the removed", fact(t, events.TypeMemberRemoved, conv,
			events.MemberFact{ConversationID: conv, UserIDs: []string{removed}}), append(slices.Clone(members), removed)},
		{"contact requested", fact(t, events.TypeContactRequested, owner, events.ContactFact{Request: req}), []string{owner, other}},
		{"contact accepted", fact(t, events.TypeContactAccepted, owner, events.ContactFact{Request: req}), []string{owner, other}},
		{"contact removed", fact(t, events.TypeContactRemoved, owner, events.ContactRemoved{UserID: owner, ContactID: friend}), []string{owner, friend}},
		{"rejection", fact(t, events.TypeCommandRejected, m2, events.CommandRejected{UserID: m2, Code: events.CodeNotFound}), []string{m2}},
		{"file uploaded", fact(t, events.TypeFileUploaded, m1, events.FileFact{File: events.File{ID: "f", OwnerID: m1}}), []string{m1}},
		{"file rejected", fact(t, events.TypeFileRejected, m1, events.FileFact{File: events.File{ID: "f", OwnerID: m1}}), []string{m1}},
		{"user registered", fact(t, events.TypeUserRegistered, other, events.UserFact{User: events.User{ID: other}}), []string{other}},
		{"user updated", fact(t, events.TypeUserUpdated, other, events.UserFact{User: events.User{ID: other}}), []string{other}},
		{"user deleted", fact(t, events.TypeUserDeleted, other, events.UserDeleted{UserID: other}), []string{other}},
		{"session revoked", fact(t, events.TypeSessionRevoked, m1, events.SessionRevoked{UserID: m1, Reason: "logout"}), []string{m1}},
		{"presence: the user's contacts", fact(t, events.TypePresenceChanged, owner,
			events.PresenceChanged{UserID: owner, Online: true, LastSeenAt: time.Now()}), []string{friend, m1}},
		{"presence of a user without contacts", fact(t, events.TypePresenceChanged, other,
			events.PresenceChanged{UserID: other}), nil},
		{"report: nobody", fact(t, events.TypeReportCreated, conv, events.ReportFact{Report: events.Report{ID: "r", MessageID: "m1"}}), nil},
		{"unknown type", fact(t, "im.something.else.v1", other, events.UserDeleted{UserID: other}), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Recipients(context.Background(), tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sorted(got), sorted(tc.want)) {
				t.Fatalf("recipients %v; want %v", got, tc.want)
			}
		})
	}
}

func TestDeliveriesStableAndChunked(t *testing.T) {
	pool, _ := pgtest.New(t)
	pub := &mt.Publisher{}
	h := fanout.New(fanout.Config{ChunkSize: 4}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	u := mt.Users(t, pool, 10)
	conv := mt.Group(t, pool, u...)
	f := fact(t, events.TypeMessageCreated, conv, events.MessageFact{Message: events.Message{ID: "m", ConversationID: conv, Seq: 1}})
	f.SetExtension(events.ExtCorrelationID, "edge/s/1")

	for range 2 { // the trigger redelivers the fact: the process died before it moved the cursor
		if _, err := h.HandleEvent(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(context.Background(), `DELETE FROM delivery_cursors WHERE conversation_id = $1`, conv); err != nil {
			t.Fatal(err)
		}
	}
	evs := pub.Published()
	if len(evs) != 6 {
		t.Fatalf("%d deliveries; want 2 x 3 chunks", len(evs))
	}
	var all []string
	for i, d := range evs[:3] {
		again := evs[3+i]
		if d.ID() != again.ID() || d.ID() != fanout.DeliveryID(f, i) || string(d.Data()) != string(again.Data()) {
			t.Fatalf("chunk %d differs on redelivery: %s vs %s", i, d.ID(), again.ID())
		}
		if d.Type() != events.TypeDelivery || events.PartitionKey(d) != conv ||
			events.StringExtension(d, events.ExtCorrelationID) != "edge/s/1" {
			t.Fatalf("delivery envelope: %s key %s", d.Type(), events.PartitionKey(d))
		}
		dl, err := events.Decode[events.Delivery](d)
		if err != nil {
			t.Fatal(err)
		}
		if len(dl.Recipients) > 4 || dl.Event.ID != f.ID() || dl.Event.Type != f.Type() || string(dl.Event.Data) != string(f.Data()) {
			t.Fatalf("chunk %d: %d recipients, event %+v", i, len(dl.Recipients), dl.Event)
		}
		all = append(all, dl.Recipients...)
	}
	if !slices.Equal(sorted(all), sorted(u)) {
		t.Fatalf("chunks cover %v; want %v", all, u)
	}
	if ids := map[string]bool{evs[0].ID(): true, evs[1].ID(): true, evs[2].ID(): true}; len(ids) != 3 {
		t.Fatal("chunks share an id")
	}
	// Another fact gets other ids.
	g := f.Clone()
	g.SetID("other-fact")
	if fanout.DeliveryID(g, 0) == fanout.DeliveryID(f, 0) {
		t.Fatal("different facts share a delivery id")
	}
}

func TestPoisonAndPublishFailure(t *testing.T) {
	pool, _ := pgtest.New(t)
	pub := &mt.Publisher{}
	h := fanout.New(fanout.Config{}, fanout.Deps{Pool: pool, Publisher: pub, Log: mt.Log()})
	hh, err := h.Mount(context.Background(), serve.Options{Log: mt.Log()})
	if err != nil {
		t.Fatal(err)
	}
	u := mt.Users(t, pool, 2)
	conv := mt.Group(t, pool, u...)
	f := fact(t, events.TypeMessageCreated, conv, events.MessageFact{Message: events.Message{ID: "m", ConversationID: conv}})
	if code, _ := mt.PostBinary(t, hh, f, []byte(`{"message":{}}`)); code != 400 {
		t.Fatalf("poison fact: %d; want 400", code)
	}
	pub.Fail = context.DeadlineExceeded
	if code, _ := mt.PostEvent(t, hh, f); code < 500 {
		t.Fatalf("publish failure: %d; want a retryable 5xx", code)
	}
	pub.Fail = nil
	if code, _ := mt.PostEvent(t, hh, f); code != 200 || len(pub.Published()) != 1 {
		t.Fatalf("retry: %d, %d published", code, len(pub.Published()))
	}
}

// TestDeliveriesThroughKafka runs fanout against the in-process Kafka-protocol broker with the real
// infra/kafka writer, and reads the deliveries back as a socket-edge would.
func TestDeliveriesThroughKafka(t *testing.T) {
	pool, _ := pgtest.New(t)
	cluster := kafkatest.Start(t)
	topic := cluster.Topic(t, 3)
	w, err := kafka.NewWriter(kafka.Config{Brokers: cluster.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	h := fanout.New(fanout.Config{Topic: topic, ChunkSize: 2}, fanout.Deps{Pool: pool, Publisher: w, Log: mt.Log()})
	u := mt.Users(t, pool, 3)
	conv := mt.Group(t, pool, u...)
	f := fact(t, events.TypeMessageCreated, conv, events.MessageFact{Message: events.Message{ID: "m", ConversationID: conv}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := h.HandleEvent(ctx, f); err != nil {
		t.Fatal(err)
	}

	got := readBack(t, ctx, cluster.Brokers, topic, 2, 0)
	if len(got) != 2 {
		t.Fatalf("%d deliveries read back; want 2 chunks", len(got))
	}
	var all []string
	for _, d := range got {
		if events.PartitionKey(d) != conv || d.Type() != events.TypeDelivery {
			t.Fatalf("delivery key %q type %s", events.PartitionKey(d), d.Type())
		}
		dl, err := events.Decode[events.Delivery](d)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, dl.Recipients...)
	}
	if !slices.Equal(sorted(all), sorted(u)) {
		t.Fatalf("recipients %v; want %v", all, u)
	}
}

// readBack consumes topic until at least want events arrived (or 15 s passed), then lingers for
// extra so anything more would show up too, and returns what it read.
func readBack(t *testing.T, ctx context.Context, brokers []string, topic string, want int, extra time.Duration) []event.Event {
	t.Helper()
	var mu sync.Mutex
	var got []event.Event
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- kafka.Consume(rctx, kafka.ConsumerConfig{Brokers: brokers, Topics: []string{topic}, Logger: mt.Log()},
			func(_ context.Context, m kafka.Message) error {
				e, err := m.Event()
				if err != nil {
					return err
				}
				mu.Lock()
				got = append(got, e)
				mu.Unlock()
				return nil
			})
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(extra)
	stop()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(got)
}
