package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/events"
)

// Callers that give up (the trigger's timeout) while others are being handled must not leave any
// later request unanswered, and every reply must answer its own request. sdk-go's
// NewHTTPReceiveHandler failed this: a cancelled request's goroutine left a message without a taker,
// and from then on a lone request waited for the next one to arrive.
func TestEventsAnswersEachRequestAfterCancelledOnes(t *testing.T) {
	h, err := Events(slog.New(slog.DiscardHandler), func(ctx context.Context, e event.Event) (*event.Event, error) {
		var d struct {
			SleepMS int `json:"sleep_ms"`
		}
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return nil, err
		}
		time.Sleep(time.Duration(d.SleepMS) * time.Millisecond) // ignores ctx, as a handler mid-commit does
		r := event.New()
		r.SetID("reply-to-" + e.ID())
		r.SetSource("/test")
		r.SetType("test.reply")
		return &r, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(ctx context.Context, id string, sleep int) (string, error) {
		e := event.New()
		e.SetID(id)
		e.SetSource("/test")
		e.SetType("test.command")
		if err := e.SetData(event.ApplicationJSON, map[string]int{"sleep_ms": sleep}); err != nil {
			return "", err
		}
		body, _ := json.Marshal(e)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		return resp.Header.Get("Ce-Id"), nil
	}

	// Bursts of concurrent requests, some of whose callers give up before their event is handled.
	var wg sync.WaitGroup
	errs := make(chan error, 4096)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				id := fmt.Sprint("burst-", w, "-", i)
				timeout, sleep := 2*time.Second, 0
				if i%10 == 0 {
					timeout, sleep = 5*time.Millisecond, 20
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				got, err := post(ctx, id, sleep)
				cancel()
				if i%10 != 0 && (err != nil || got != "reply-to-"+id) {
					errs <- fmt.Errorf("%s answered %q, %v", id, got, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Then lone requests, one at a time (an ordered partition's): each answered at once, with its own reply.
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		id := fmt.Sprint("lone-", i)
		got, err := post(ctx, id, 0)
		cancel()
		if err != nil || got != "reply-to-"+id {
			t.Fatalf("%s answered %q, %v", id, got, err)
		}
	}
}

// An expired command is dropped unapplied and acknowledged (200, no reply).
func TestEventsDropsExpiredCommands(t *testing.T) {
	called := false
	h, err := Events(slog.New(slog.DiscardHandler), func(context.Context, event.Event) (*event.Event, error) {
		called = true
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e := event.New()
	e.SetID("late")
	e.SetSource("/test")
	e.SetType(events.TypeMessageSend)
	events.SetDeadline(&e, time.Now().Add(-time.Second))
	body, _ := json.Marshal(e)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || called || rec.Header().Get("Ce-Id") != "" {
		t.Fatalf("expired command: %d, handler called %v, reply %q", rec.Code, called, rec.Header().Get("Ce-Id"))
	}
}

// The handler sees the command's deadline; a handler that gives up on it (ErrExpired) gets the
// command dropped like one that arrived late: 200, no reply, no redelivery.
func TestEventsPassesTheDeadlineAndDropsWhatExpiredInside(t *testing.T) {
	deadline := time.Now().Add(time.Minute).Truncate(time.Microsecond)
	var seen time.Time
	var ok bool
	h, err := Events(slog.New(slog.DiscardHandler), func(ctx context.Context, _ event.Event) (*event.Event, error) {
		seen, ok = CommandDeadline(ctx)
		return nil, ErrExpired
	})
	if err != nil {
		t.Fatal(err)
	}
	e := event.New()
	e.SetID("queued")
	e.SetSource("/test")
	e.SetType(events.TypeMessageSend)
	events.SetDeadline(&e, deadline)
	body, _ := json.Marshal(e)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if !ok || !seen.Equal(deadline) {
		t.Fatalf("handler saw deadline %v (%v), want %v", seen, ok, deadline)
	}
	if rec.Code != http.StatusOK || rec.Header().Get("Ce-Id") != "" {
		t.Fatalf("expired inside: %d, reply %q", rec.Code, rec.Header().Get("Ce-Id"))
	}
}
