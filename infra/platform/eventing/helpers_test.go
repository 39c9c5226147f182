package eventing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/platform/eventing"
)

// env is one test's private Kafka with a broker topic and its dead-letter topic.
type env struct {
	kc     *kafkatest.Cluster
	w      *kafka.Writer
	topic  string
	dlq    string
	parts  int
	logger *slog.Logger
}

func newEnv(t *testing.T, partitions int) *env {
	t.Helper()
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, partitions)
	kc.CreateTopics(t, partitions, topic+events.DLQSuffix)
	w, err := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	lvl := slog.LevelWarn
	if testing.Verbose() {
		lvl = slog.LevelDebug
	}
	return &env{kc: kc, w: w, topic: topic, dlq: topic + events.DLQSuffix, parts: partitions,
		logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))}
}

func (e *env) deps() eventing.Deps {
	return eventing.Deps{Brokers: e.kc.Brokers, Publisher: e.w, Log: e.logger}
}

// trigger returns a Trigger-like subscription on the env's broker topic.
func (e *env) trigger(name, url string, types ...string) eventing.Subscription {
	return eventing.Subscription{
		Name: name, Namespace: "parley", Topics: []string{e.topic}, GroupID: "knative-trigger-parley-" + name,
		Types: types, Subscriber: url, Ordered: true, ReplyTopic: e.topic,
		Delivery: eventing.Delivery{Retry: 3, BackoffDelay: 20 * time.Millisecond, Timeout: 5 * time.Second,
			DeadLetterTopic: e.dlq},
	}
}

// run starts a dispatcher; it is stopped (and waited for) when the test ends or stop is called.
func (e *env) run(t *testing.T, sub eventing.Subscription) (stop func()) {
	t.Helper()
	d, err := eventing.NewDispatcher(sub, e.deps())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			t.Errorf("dispatcher %s: %v", sub.Name, err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (e *env) publish(t *testing.T, evs ...event.Event) {
	t.Helper()
	if err := e.w.Publish(context.Background(), e.topic, evs...); err != nil {
		t.Fatal(err)
	}
}

// collect consumes topic into a list of events.
func (e *env) collect(t *testing.T, topic string) *collected {
	t.Helper()
	c := &collected{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kafka.Consume(ctx, kafka.ConsumerConfig{Brokers: e.kc.Brokers, Topics: []string{topic}, GroupID: "collector-" + topic,
			Logger: e.logger},
			func(_ context.Context, m kafka.Message) error {
				ev, err := m.Event()
				if err != nil {
					return nil
				}
				c.mu.Lock()
				c.events = append(c.events, ev)
				c.keys = append(c.keys, string(m.Record.Key))
				c.mu.Unlock()
				return nil
			})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

type collected struct {
	mu     sync.Mutex
	events []event.Event
	keys   []string
}

func (c *collected) snapshot() ([]event.Event, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event.Event(nil), c.events...), append([]string(nil), c.keys...)
}

func (c *collected) len() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.events) }

// request is what a subscriber saw.
type request struct {
	at     time.Time
	method string
	path   string
	header http.Header
	body   []byte
}

// subscriber is an HTTP server recording requests; answer decides each response.
type subscriber struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(n int, r request, w http.ResponseWriter)
}

func newSubscriber(t *testing.T, answer func(n int, r request, w http.ResponseWriter)) *subscriber {
	t.Helper()
	s := &subscriber{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{at: time.Now(), method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body}
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		if s.answer == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		s.answer(n, req, w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *subscriber) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// ids are the Ce-Id of every request, in arrival order.
func (s *subscriber) ids() []string {
	var out []string
	for _, r := range s.requests() {
		out = append(out, r.header.Get("Ce-Id"))
	}
	return out
}

// requestsFor returns the requests that carried event id.
func (s *subscriber) requestsFor(id string) []request {
	var out []request
	for _, r := range s.requests() {
		if r.header.Get("Ce-Id") == id {
			out = append(out, r)
		}
	}
	return out
}

func newEvent(t *testing.T, id, typ, key string, data any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/parley/test")
	e.SetType(typ)
	e.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if key != "" {
		e.SetSubject(key)
		e.SetExtension(events.ExtPartitionKey, key)
	}
	if data != nil {
		if err := e.SetData(event.ApplicationJSON, data); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}
