package edge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/events"
)

// blockingProducer holds every message.send publish until its context ends and reports how it ended;
// other events go to the real producer.
type blockingProducer struct {
	events.Publisher
	started chan struct{}
	ended   chan error
}

func (p *blockingProducer) Publish(ctx context.Context, topic string, evs ...event.Event) error {
	if len(evs) == 0 || evs[0].Type() != events.TypeMessageSend {
		return p.Publisher.Publish(ctx, topic, evs...)
	}
	p.started <- struct{}{}
	<-ctx.Done()
	p.ended <- ctx.Err()
	return ctx.Err()
}

// TestCommandPublishEndsWithConnection: a command still being published when the server closes its
// connection is cancelled then, not left running until its deadline, and is not answered or counted
// as unavailable (no answer can reach a closing connection).
func TestCommandPublishEndsWithConnection(t *testing.T) {
	var bp *blockingProducer
	h := newHarnessDeps(t, func(c *Config) { c.CommandDeadline = 30 * time.Second; c.CommandTimeout = time.Minute },
		func(d *Deps) {
			bp = &blockingProducer{Publisher: d.Producer, started: make(chan struct{}, 1), ended: make(chan error, 1)}
			d.Producer = bp
		})
	ws, _ := h.dial("u1", "s1")
	send(t, ws, "send", "f1", map[string]any{"conversation_id": "c1", "client_msg_id": "k1", "type": "text", "text": "x"})
	select {
	case <-bp.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the command was not published")
	}
	var c *conn
	h.e.hub.each("u1", func(x *conn) { c = x })
	if c == nil || c.ctx.Err() != nil {
		t.Fatal("no live connection")
	}
	c.closeWith(disconnectRevoked)
	select {
	case err := <-bp.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("publish ended with %v; want the connection's cancellation", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the publish outlived its connection")
	}
	if code := closeCode(t, ws, 5*time.Second); code != events.CloseUnauthenticated {
		t.Fatalf("close %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.e.cmds.len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames still pending", h.e.cmds.len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.e.stats.unavailable[causePublish].Load(); n != 0 {
		t.Fatalf("%d publish failures counted; want 0", n)
	}
	if n := h.e.sends.Inflight(); n != 0 {
		t.Fatalf("%d sends still hold the send limit; the ended connection's must be given back", n)
	}
}

// TestConnContextEndsWithReadLoop: a connection the client drops has its context cancelled.
func TestConnContextEndsWithReadLoop(t *testing.T) {
	h := newHarness(t, nil)
	ws, _ := h.dial("u1", "s1")
	var c *conn
	h.e.hub.each("u1", func(x *conn) { c = x })
	if c == nil {
		t.Fatal("no connection")
	}
	_ = ws.Close()
	select {
	case <-c.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection's context outlived it")
	}
}
