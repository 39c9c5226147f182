package eventing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/robfig/cron/v3"
)

// TypePing is the type of PingSource events.
const TypePing = "dev.knative.sources.ping"

// Ping is a PingSource: an event with fixed data to the sink on a schedule.
type Ping struct {
	Name      string
	Namespace string
	Sink      string
	// Interval, when set, replaces Schedule (the local platform pings more often than cron's minute).
	Interval    time.Duration
	Schedule    string // standard 5-field cron
	ContentType string
	Data        string
	Delivery    Delivery // Timeout per attempt; Retry/backoff as a Trigger's; no dead letters
	Deps        Deps
}

// Run sends on the schedule until ctx is done. A send that fails is retried per Delivery and
// then logged; the next tick sends again regardless.
func (p *Ping) Run(ctx context.Context) error {
	next, err := p.scheduler()
	if err != nil {
		return err
	}
	log := p.Deps.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("pingsource", p.Name, "sink", p.Sink)
	client := p.Deps.Client
	if client == nil {
		client = defaultClient()
	}
	s := sender{client: client, prop: p.Deps.Propagator}
	if s.prop == nil {
		s.prop = defaultPropagator()
	}
	timeout := p.Delivery.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	for {
		now := time.Now()
		if !sleep(ctx, next(now).Sub(now)) {
			return nil
		}
		e := p.event(time.Now())
		for n := 0; ; n++ {
			a := s.post(ctx, p.Sink, e, timeout)
			if ctx.Err() != nil {
				return nil
			}
			if a.ok() {
				break
			}
			if !a.retryable() || n >= p.Delivery.Retry {
				log.Warn("ping not delivered", "result", a.String())
				break
			}
			if !sleep(ctx, p.Delivery.backoff(n+1)) {
				return nil
			}
		}
	}
}

func (p *Ping) scheduler() (func(time.Time) time.Time, error) {
	if p.Interval > 0 {
		return func(t time.Time) time.Time { return t.Add(p.Interval) }, nil
	}
	sch, err := cron.ParseStandard(p.Schedule)
	if err != nil {
		return nil, fmt.Errorf("pingsource %s schedule %q: %w", p.Name, p.Schedule, err)
	}
	return sch.Next, nil
}

func (p *Ping) event(at time.Time) event.Event {
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetType(TypePing)
	e.SetSource(fmt.Sprintf("/apis/v1/namespaces/%s/pingsources/%s", p.Namespace, p.Name))
	e.SetTime(at.UTC())
	if p.Data != "" {
		ct := p.ContentType
		if ct == "" {
			ct = event.TextPlain
		}
		e.SetDataContentType(ct)
		e.DataEncoded = []byte(p.Data)
	}
	return e
}
