package eventing_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	segkafka "github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/platform/eventing"
	"github.com/parley-im/parley/infra/polltest"
)

const typeA, typeB = "im.test.a.v1", "im.test.b.v1"

func TestSubscriberReceivesBinaryMode(t *testing.T) {
	e := newEnv(t, 1)
	sub := newSubscriber(t, nil)
	e.run(t, e.trigger("binary", sub.URL, typeA))

	in := newEvent(t, "ev-1", typeA, "conv-1", map[string]string{"text": "hi"})
	in.SetExtension(events.ExtCorrelationID, "edge-0/s1/f1")
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithRemoteSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
	if err := e.w.Publish(ctx, e.topic, in); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "delivery", func() bool { return len(sub.requests()) == 1 })
	r := sub.requests()[0]
	if r.method != http.MethodPost || r.path != "/" {
		t.Errorf("got %s %s, want POST /", r.method, r.path)
	}
	want := map[string]string{
		"Ce-Specversion":   "1.0",
		"Ce-Id":            "ev-1",
		"Ce-Source":        "/parley/test",
		"Ce-Type":          typeA,
		"Ce-Subject":       "conv-1",
		"Ce-Time":          "2026-01-02T03:04:05Z",
		"Ce-Partitionkey":  "conv-1",
		"Ce-Correlationid": "edge-0/s1/f1",
		"Content-Type":     "application/json",
		"Prefer":           "reply",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if string(r.body) != `{"text":"hi"}` {
		t.Errorf("body = %s, want the event data alone (binary mode)", r.body)
	}
	if tp := r.header.Get("Traceparent"); !strings.Contains(tp, traceID.String()) {
		t.Errorf("traceparent = %q, want trace %s carried from the producer", tp, traceID)
	}
}

func TestTriggerFiltersOnType(t *testing.T) {
	e := newEnv(t, 1)
	sub := newSubscriber(t, nil)
	e.run(t, e.trigger("filter", sub.URL, typeA))
	e.publish(t,
		newEvent(t, "a1", typeA, "k", nil),
		newEvent(t, "b1", typeB, "k", nil),
		newEvent(t, "a2", typeA, "k", nil))
	// One partition, ordered: once a2 arrived, b1 has been seen and filtered.
	polltest.Until(t, 10*time.Second, "a2", func() bool { return len(sub.requestsFor("a2")) == 1 })
	got := sub.ids()
	if fmt.Sprint(got) != "[a1 a2]" {
		t.Fatalf("delivered %v, want [a1 a2] (b1 filtered out)", got)
	}
}

// Attribute filters are exact matches on extensions, ANDed with the type: an event of the right
// type without the extension, or with another value, is not delivered.
func TestTriggerFiltersOnAttributes(t *testing.T) {
	e := newEnv(t, 1)
	sub := newSubscriber(t, nil)
	tr := e.trigger("attrs", sub.URL, typeA)
	tr.Attributes = map[string]string{"parleypush": "true"}
	e.run(t, tr)
	with := func(id, typ, val string) event.Event {
		ev := newEvent(t, id, typ, "k", nil)
		if val != "" {
			ev.SetExtension("parleypush", val)
		}
		return ev
	}
	e.publish(t, with("a-none", typeA, ""), with("a-false", typeA, "false"), with("b-true", typeB, "true"),
		with("a-true", typeA, "true"), with("a-last", typeA, "true"))
	polltest.Until(t, 10*time.Second, "a-last", func() bool { return len(sub.requestsFor("a-last")) == 1 })
	got := sub.ids()
	if fmt.Sprint(got) != "[a-true a-last]" {
		t.Fatalf("delivered %v, want [a-true a-last]", got)
	}
}

// Every retryable status is retried with growing pauses until the subscriber accepts the event.
func TestRetryableStatusesAreRetriedWithBackoff(t *testing.T) {
	e := newEnv(t, 1)
	statuses := []int{500, 404, 408, 409, 429, 503}
	sub := newSubscriber(t, func(n int, _ request, w http.ResponseWriter) {
		if n < len(statuses) {
			w.WriteHeader(statuses[n])
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	const delay = 25 * time.Millisecond
	tr := e.trigger("retry", sub.URL, typeA)
	tr.Delivery.Retry = len(statuses)
	tr.Delivery.BackoffDelay = delay
	e.run(t, tr)
	dlq := e.collect(t, e.dlq)
	e.publish(t, newEvent(t, "r1", typeA, "k", nil), newEvent(t, "after", typeA, "k", nil))

	polltest.Until(t, 20*time.Second, "success after retries", func() bool { return len(sub.requestsFor("after")) == 1 })
	reqs := sub.requestsFor("r1")
	if len(reqs) != len(statuses)+1 {
		t.Fatalf("r1 attempts = %d, want %d", len(reqs), len(statuses)+1)
	}
	var gaps []time.Duration
	for i := 1; i < len(reqs); i++ {
		gap := reqs[i].at.Sub(reqs[i-1].at)
		gaps = append(gaps, gap)
		if want := delay << (i - 1); gap < want {
			t.Errorf("pause before retry %d = %v, want >= %v (exponential)", i, gap, want)
		}
	}
	for i := 1; i < len(gaps); i++ {
		if gaps[i] <= gaps[i-1] {
			t.Errorf("pauses do not grow: %v", gaps)
			break
		}
	}
	t.Logf("retry pauses: %v", gaps)
	if dlq.len() != 0 {
		t.Errorf("a delivered event was dead-lettered")
	}
}

func TestTimeoutAndConnectionErrorAreRetried(t *testing.T) {
	e := newEnv(t, 1)
	release := make(chan struct{})
	sub := newSubscriber(t, func(n int, r request, w http.ResponseWriter) {
		if n == 0 {
			<-release // longer than the per-attempt timeout
		}
		w.WriteHeader(http.StatusOK)
	})
	defer close(release)
	tr := e.trigger("timeout", sub.URL, typeA)
	tr.Delivery.Timeout = 100 * time.Millisecond
	e.run(t, tr)
	e.publish(t, newEvent(t, "slow", typeA, "k", nil))
	polltest.Until(t, 10*time.Second, "second attempt after timeout", func() bool { return len(sub.requestsFor("slow")) == 2 })

	// Nobody listening: connection refused is retried, then dead-lettered without a status code.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + ln.Addr().String()
	ln.Close()
	e2 := newEnv(t, 1)
	tr2 := e2.trigger("refused", deadURL, typeA)
	tr2.Delivery.Retry = 2
	start := time.Now()
	e2.run(t, tr2)
	dlq := e2.collect(t, e2.dlq)
	e2.publish(t, newEvent(t, "lost", typeA, "k", nil))
	polltest.Until(t, 10*time.Second, "dead letter", func() bool { return dlq.len() == 1 })
	if el := time.Since(start); el < 20*time.Millisecond+40*time.Millisecond {
		t.Errorf("dead-lettered after %v: the two retries' backoff did not happen", el)
	}
	evs, _ := dlq.snapshot()
	if got := events.StringExtension(evs[0], events.ExtErrorDest); got != deadURL {
		t.Errorf("knativeerrordest = %q, want %q", got, deadURL)
	}
	if _, ok := evs[0].Extensions()[events.ExtErrorCode]; ok {
		t.Errorf("knativeerrorcode set without a response")
	}
}

func TestBadRequestIsDeadLetteredWithoutRetry(t *testing.T) {
	e := newEnv(t, 1)
	sub := newSubscriber(t, func(_ int, r request, w http.ResponseWriter) {
		if r.header.Get("Ce-Id") == "poison" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":"invalid_argument"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	tr := e.trigger("poison", sub.URL, typeA)
	tr.Delivery.Retry = 5
	e.run(t, tr)
	dlq := e.collect(t, e.dlq)
	in := newEvent(t, "poison", typeA, "conv-9", map[string]int{"n": 1})
	e.publish(t, in, newEvent(t, "next", typeA, "conv-9", nil))

	polltest.Until(t, 10*time.Second, "dead letter and next event", func() bool {
		return dlq.len() == 1 && len(sub.requestsFor("next")) == 1
	})
	if n := len(sub.requestsFor("poison")); n != 1 {
		t.Errorf("400 attempted %d times, want 1 (no retry)", n)
	}
	evs, keys := dlq.snapshot()
	dl := evs[0]
	if dl.ID() != "poison" || dl.Type() != typeA || string(dl.Data()) != `{"n":1}` || keys[0] != "conv-9" {
		t.Errorf("dead letter is not the original event: %v key %q", dl, keys[0])
	}
	if got := events.StringExtension(dl, events.ExtErrorDest); got != sub.URL {
		t.Errorf("knativeerrordest = %q, want %q", got, sub.URL)
	}
	if got := events.StringExtension(dl, events.ExtErrorCode); got != "400" {
		t.Errorf("knativeerrorcode = %q, want 400", got)
	}
	data, err := base64.StdEncoding.DecodeString(events.StringExtension(dl, events.ExtErrorData))
	if err != nil || string(data) != `{"code":"invalid_argument"}` {
		t.Errorf("knativeerrordata = %q (%v), want base64 of the response body", data, err)
	}
}

func TestExhaustedRetriesAreDeadLettered(t *testing.T) {
	e := newEnv(t, 1)
	sub := newSubscriber(t, func(_ int, _ request, w http.ResponseWriter) {
		http.Error(w, strings.Repeat("x", 3000), http.StatusServiceUnavailable)
	})
	tr := e.trigger("exhaust", sub.URL, typeA)
	tr.Delivery.Retry = 2
	e.run(t, tr)
	dlq := e.collect(t, e.dlq)
	e.publish(t, newEvent(t, "doomed", typeA, "k", nil))
	polltest.Until(t, 10*time.Second, "dead letter", func() bool { return dlq.len() == 1 })
	if n := len(sub.requestsFor("doomed")); n != 3 {
		t.Errorf("attempts = %d, want 1 + 2 retries", n)
	}
	evs, _ := dlq.snapshot()
	if got := events.StringExtension(evs[0], events.ExtErrorCode); got != "503" {
		t.Errorf("knativeerrorcode = %q, want 503", got)
	}
	data, _ := base64.StdEncoding.DecodeString(events.StringExtension(evs[0], events.ExtErrorData))
	if len(data) != 1024 {
		t.Errorf("knativeerrordata holds %d bytes, want the body truncated to 1024", len(data))
	}
}

// A 200 carrying a CloudEvent is a reply: it goes back into the broker topic, keyed by its
// partitionkey, and reaches the trigger that filters on its type.
func TestReplyIsProducedIntoBrokerAndDispatched(t *testing.T) {
	e := newEnv(t, 2)
	replier := newSubscriber(t, func(_ int, r request, w http.ResponseWriter) {
		reply := newEvent(t, "reply-of-"+r.header.Get("Ce-Id"), typeB, "conv-7", map[string]string{"ok": "yes"})
		if err := cehttp.WriteResponseWriter(context.Background(), binding.ToMessage(&reply), http.StatusOK, w); err != nil {
			t.Error(err)
		}
	})
	sink := newSubscriber(t, nil)
	e.run(t, e.trigger("commands", replier.URL, typeA))
	e.run(t, e.trigger("replies", sink.URL, typeB))
	broker := e.collect(t, e.topic)
	e.publish(t, newEvent(t, "cmd-1", typeA, "conv-7", nil))

	polltest.Until(t, 10*time.Second, "reply dispatched", func() bool { return len(sink.requestsFor("reply-of-cmd-1")) == 1 })
	r := sink.requestsFor("reply-of-cmd-1")[0]
	if r.header.Get("Ce-Type") != typeB || string(r.body) != `{"ok":"yes"}` {
		t.Errorf("reply arrived as %v %s", r.header, r.body)
	}
	polltest.Until(t, 10*time.Second, "reply in broker topic", func() bool { return broker.len() == 2 })
	evs, keys := broker.snapshot()
	for i, ev := range evs {
		if ev.ID() == "reply-of-cmd-1" && keys[i] != "conv-7" {
			t.Errorf("reply stored with key %q, want its partitionkey conv-7", keys[i])
		}
	}
	if len(replier.requestsFor("reply-of-cmd-1")) != 0 {
		t.Errorf("the reply reached the command trigger: its filter let it through")
	}
}

func partitionOf(key string, partitions int) int {
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	return (&segkafka.Murmur2Balancer{}).Balance(segkafka.Message{Key: []byte(key)}, ps...)
}

// Ordered: per-key order holds, a failing record holds its own partition (later records of that
// partition wait) while the other partitions keep flowing.
func TestOrderedHoldsOnlyTheFailingPartition(t *testing.T) {
	const parts, keysN, perKey = 4, 12, 10
	e := newEnv(t, parts)
	held := "key-0"
	heldPart := partitionOf(held, parts)
	var mu sync.Mutex
	release := false
	sub := newSubscriber(t, func(_ int, r request, w http.ResponseWriter) {
		mu.Lock()
		hold := !release
		mu.Unlock()
		if r.header.Get("Ce-Id") == held+"/3" && hold {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	tr := e.trigger("ordered", sub.URL, typeA)
	tr.Delivery.Retry = 1000
	tr.Delivery.BackoffDelay = 10 * time.Millisecond
	tr.Delivery.Linear = true
	e.run(t, tr)

	var evs []event.Event
	for i := range perKey {
		for k := range keysN {
			key := fmt.Sprintf("key-%d", k)
			evs = append(evs, newEvent(t, fmt.Sprintf("%s/%d", key, i), typeA, key, nil))
		}
	}
	e.publish(t, evs...)

	// Wait until every record outside the held partition is delivered.
	polltest.Until(t, 20*time.Second, "other partitions drained", func() bool {
		for k := range keysN {
			key := fmt.Sprintf("key-%d", k)
			if partitionOf(key, parts) == heldPart {
				continue
			}
			if len(sub.requestsFor(fmt.Sprintf("%s/%d", key, perKey-1))) == 0 {
				return false
			}
		}
		return true
	})
	// The held record is being retried and nothing after it in its partition got through.
	polltest.Until(t, 10*time.Second, "held record retried", func() bool { return len(sub.requestsFor(held+"/3")) >= 3 })
	// In the held partition only the records published before the held one got through.
	wantBefore := 0
	for k := range keysN {
		if partitionOf(fmt.Sprintf("key-%d", k), parts) == heldPart {
			wantBefore += 3
		}
	}
	var before []string
	for _, r := range sub.requests() {
		var k, i int
		id := r.header.Get("Ce-Id")
		fmt.Sscanf(id, "key-%d/%d", &k, &i)
		if partitionOf(fmt.Sprintf("key-%d", k), parts) != heldPart || id == held+"/3" {
			continue
		}
		if i >= 3 {
			t.Errorf("%s delivered while %s/3, before it in the same partition, was failing", id, held)
		}
		before = append(before, id)
	}
	if len(before) != wantBefore {
		t.Errorf("held partition delivered %d records before the held one, want %d: %v", len(before), wantBefore, before)
	}
	mu.Lock()
	release = true
	mu.Unlock()
	polltest.Until(t, 20*time.Second, "held partition drained", func() bool { return len(sub.requestsFor(held+fmt.Sprintf("/%d", perKey-1))) == 1 })
	// Per key: delivered in publish order, each once except the retried one.
	seen := map[string][]int{}
	for _, r := range sub.requests() {
		var k, i int
		fmt.Sscanf(r.header.Get("Ce-Id"), "key-%d/%d", &k, &i)
		key := fmt.Sprintf("key-%d", k)
		if n := len(seen[key]); n > 0 && seen[key][n-1] == i {
			continue // a retry of the same record
		}
		seen[key] = append(seen[key], i)
	}
	for key, order := range seen {
		for i, v := range order {
			if v != i {
				t.Fatalf("%s delivered in order %v", key, order)
			}
		}
	}
	if len(seen) != keysN {
		t.Errorf("keys seen %d, want %d", len(seen), keysN)
	}
}

// Unordered: records of one partition are in flight together, and the committed offset never
// passes an unfinished record, so a restart redelivers it.
func TestUnorderedIsConcurrentAndCommitsBelowUnfinished(t *testing.T) {
	e := newEnv(t, 1)
	block := make(chan struct{})
	var unblock sync.Once
	defer unblock.Do(func() { close(block) })
	sub := newSubscriber(t, func(_ int, r request, w http.ResponseWriter) {
		if r.header.Get("Ce-Id") == "u0" {
			select {
			case <-block:
			case <-time.After(20 * time.Second):
			}
		}
		w.WriteHeader(http.StatusAccepted)
	})
	tr := e.trigger("unordered", sub.URL, typeA)
	tr.Ordered = false
	tr.Delivery.Timeout = 30 * time.Second
	stop := e.run(t, tr)
	var evs []event.Event
	for i := range 10 {
		evs = append(evs, newEvent(t, fmt.Sprintf("u%d", i), typeA, "same-key", nil))
	}
	e.publish(t, evs...)
	// u1..u9 complete while u0 is still in flight: concurrency within the partition.
	polltest.Until(t, 10*time.Second, "u1..u9 while u0 in flight", func() bool { return len(sub.requests()) == 10 })
	stop() // u0 unfinished: its offset (and so the later ones) must not be committed
	unblock.Do(func() { close(block) })

	sub2 := newSubscriber(t, nil)
	tr.Subscriber = sub2.URL
	e.run(t, tr)
	polltest.Until(t, 15*time.Second, "u0 redelivered after restart", func() bool { return len(sub2.requestsFor("u0")) == 1 })

	// Once u0 is done everything is committed: a third run of the group gets nothing old.
	polltest.Until(t, 10*time.Second, "all redelivered", func() bool { return len(sub2.requests()) == 10 })
}

// A Kafka source wraps a plain record as Knative's KafkaSource does and discards replies.
func TestKafkaSourceWrapsPlainRecords(t *testing.T) {
	e := newEnv(t, 1)
	sub := newSubscriber(t, func(_ int, _ request, w http.ResponseWriter) {
		reply := newEvent(t, "should-vanish", typeB, "k", nil)
		_ = cehttp.WriteResponseWriter(context.Background(), binding.ToMessage(&reply), http.StatusOK, w)
	})
	src := eventing.Subscription{
		Name: "s3-events", Namespace: "parley", Topics: []string{e.topic}, GroupID: "parley-upload",
		Subscriber: sub.URL, Source: true, Ordered: false,
		Delivery: eventing.Delivery{Retry: 1, BackoffDelay: 10 * time.Millisecond, Timeout: 5 * time.Second},
	}
	e.run(t, src)
	broker := e.collect(t, e.topic)
	value := []byte(`{"Records":[{"eventName":"s3:ObjectCreated:Put"}]}`)
	if err := e.w.WriteRecords(context.Background(), e.topic, events.Record{
		Key: []byte("obj-key"), Value: value, Headers: []events.Header{{Key: "x-origin", Value: []byte("vgw")}},
	}); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "wrapped record", func() bool { return len(sub.requests()) == 1 })
	r := sub.requests()[0]
	want := map[string]string{
		"Ce-Type":               events.TypeKafkaRecord,
		"Ce-Id":                 "partition:0/offset:0",
		"Ce-Source":             "/apis/v1/namespaces/parley/kafkasources/s3-events#" + e.topic,
		"Ce-Subject":            "partition:0#0",
		"Ce-Key":                "obj-key",
		"Ce-Kafkaheaderxorigin": "vgw",
		"Content-Type":          "application/json",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if string(r.body) != string(value) {
		t.Errorf("body = %s, want the record value", r.body)
	}
	if r.header.Get("Prefer") != "" {
		t.Errorf("a KafkaSource does not ask for replies")
	}
	// The reply is discarded: the topic keeps only the original record.
	e.publish(t, newEvent(t, "marker", typeA, "k", nil))
	polltest.Until(t, 10*time.Second, "marker", func() bool { return len(sub.requestsFor("marker")) == 1 })
	for _, ev := range func() []event.Event { evs, _ := broker.snapshot(); return evs }() {
		if ev.ID() == "should-vanish" {
			t.Fatal("a KafkaSource reply was produced")
		}
	}
}

func TestPingSourceSendsOnSchedule(t *testing.T) {
	sub := newSubscriber(t, nil)
	p := &eventing.Ping{Name: "outbox-sweep", Namespace: "parley", Sink: sub.URL, Interval: 30 * time.Millisecond,
		ContentType: "application/json", Data: `{"job":"outbox-sweep"}`}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = p.Run(ctx) }()
	polltest.Until(t, 5*time.Second, "two pings", func() bool { return len(sub.requests()) >= 2 })
	r := sub.requests()[0]
	if r.header.Get("Ce-Type") != eventing.TypePing || r.header.Get("Ce-Source") != "/apis/v1/namespaces/parley/pingsources/outbox-sweep" ||
		string(r.body) != `{"job":"outbox-sweep"}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("ping = %v %s", r.header, r.body)
	}
	bad := &eventing.Ping{Name: "x", Schedule: "not cron", Sink: sub.URL}
	if err := bad.Run(ctx); err == nil {
		t.Error("invalid schedule accepted")
	}
}
