package edge

import (
	"context"
	"time"
)

// Drain is the lame-duck shutdown: readiness turns false and new upgrades get 503 at once, then
// every connection is closed with 1012 (reconnect with jitter), spread evenly over DrainWindow so the
// clients reconnect to other instances without a storm. It returns when every connection has ended,
// or when ctx ends (the rest are then closed at once).
func (e *Edge) Drain(ctx context.Context) error {
	e.draining.Store(true)
	conns := e.hub.all()
	if n := len(conns); n > 0 {
		step := e.cfg.DrainWindow / time.Duration(n)
		start := time.Now()
		t := time.NewTimer(0)
		<-t.C
		for i, c := range conns {
			if d := time.Until(start.Add(time.Duration(i) * step)); d > 0 && ctx.Err() == nil {
				t.Reset(d)
				select {
				case <-t.C:
				case <-ctx.Done():
				}
			}
			c.closeWith(disconnectRestart)
		}
		t.Stop()
	}
	done := make(chan struct{})
	go func() {
		e.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range e.hub.all() {
			_ = c.raw.Close()
		}
		return ctx.Err()
	}
}
