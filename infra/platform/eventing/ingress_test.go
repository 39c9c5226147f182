package eventing_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/platform/eventing"
	"github.com/parley-im/parley/infra/polltest"
)

// gatedPublisher holds every Publish until released, then stores through the real writer.
type gatedPublisher struct {
	inner   events.Publisher
	entered chan struct{}
	release chan struct{}
	fail    bool
}

func (g *gatedPublisher) Publish(ctx context.Context, topic string, evs ...event.Event) error {
	g.entered <- struct{}{}
	<-g.release
	if g.fail {
		return errors.New("broker down")
	}
	return g.inner.Publish(ctx, topic, evs...)
}

func TestIngressAnswers202OnlyOnceStored(t *testing.T) {
	e := newEnv(t, 2)
	gate := &gatedPublisher{inner: e.w, entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := httptest.NewServer(&eventing.Ingress{Topic: e.topic, Publisher: gate, Log: e.logger})
	defer srv.Close()
	broker := e.collect(t, e.topic)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/parley/default", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", "in-1")
	req.Header.Set("Ce-Source", "/parley/socket-edge/edge-0")
	req.Header.Set("Ce-Type", "im.message.send.v1")
	req.Header.Set("Ce-Partitionkey", "conv-3")
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		code int
		at   time.Time
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			res <- result{}
			return
		}
		resp.Body.Close()
		res <- result{resp.StatusCode, time.Now()}
	}()
	<-gate.entered
	select {
	case r := <-res:
		t.Fatalf("answered %d before the event was stored", r.code)
	case <-time.After(100 * time.Millisecond):
	}
	close(gate.release)
	r := <-res
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", r.code)
	}
	polltest.Until(t, 10*time.Second, "event in broker topic", func() bool { return broker.len() == 1 })
	evs, keys := broker.snapshot()
	if evs[0].ID() != "in-1" || keys[0] != "conv-3" || string(evs[0].Data()) != `{"text":"hi"}` {
		t.Errorf("stored %v with key %q", evs[0], keys[0])
	}
}

func TestIngressStructuredModeAndErrors(t *testing.T) {
	e := newEnv(t, 1)
	srv := httptest.NewServer(&eventing.Ingress{Topic: e.topic, Publisher: e.w, Log: e.logger})
	defer srv.Close()
	broker := e.collect(t, e.topic)

	post := func(ct, body string) int {
		resp, err := http.Post(srv.URL, ct, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	structured := `{"specversion":"1.0","id":"s-1","source":"/x","type":"im.test.a.v1","partitionkey":"k9","datacontenttype":"application/json","data":{"a":1}}`
	if c := post("application/cloudevents+json", structured); c != http.StatusAccepted {
		t.Errorf("structured event: %d, want 202", c)
	}
	if c := post("application/json", `{"a":1}`); c != http.StatusBadRequest {
		t.Errorf("plain JSON: %d, want 400", c)
	}
	if c := post("application/cloudevents+json", `{"specversion":"1.0","id":"","source":"/x","type":"t"}`); c != http.StatusBadRequest {
		t.Errorf("invalid event: %d, want 400", c)
	}
	resp, _ := http.Get(srv.URL)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	polltest.Until(t, 10*time.Second, "structured event stored", func() bool { return broker.len() == 1 })
	evs, keys := broker.snapshot()
	if evs[0].ID() != "s-1" || keys[0] != "k9" {
		t.Errorf("stored %v key %q", evs[0], keys[0])
	}

	failing := &gatedPublisher{entered: make(chan struct{}, 1), release: make(chan struct{}), fail: true}
	close(failing.release)
	srv2 := httptest.NewServer(&eventing.Ingress{Topic: e.topic, Publisher: failing, Log: e.logger})
	defer srv2.Close()
	resp2, err := http.Post(srv2.URL, "application/cloudevents+json", bytes.NewBufferString(structured))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("store failure: %d, want 503 (retryable for the caller)", resp2.StatusCode)
	}
}
