package run

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/api"
	"github.com/parley-im/parley/load/internal/report"
)

// AckMode is how load users acknowledge message pushes.
type AckMode struct {
	// EveryPush sends one ack frame per message push as it arrives, which docs/protocol.md tells
	// clients to do; the default acks cumulatively (the highest seq per conversation) every
	// CumulativeEvery, which costs the edge far fewer frames.
	EveryPush bool
}

// cumulativeEvery is the flush period of cumulative acks: well inside the edge's resend timeout
// (10 s), so an acked push is never resent.
const cumulativeEvery = 200 * time.Millisecond

// ackQueue bounds the acks waiting for their writer per connection in every-push mode. The read
// loop must never block on a write (a client stuck writing stops reading, and the edge would close
// it as a slow consumer), so a full queue drops the ack and counts it.
const ackQueue = 1024

// ackState tracks per-connection cumulative acks, flushed periodically instead of one frame per push.
type ackState struct {
	mu  sync.Mutex
	max map[string]int64
}

func (a *ackState) note(conv string, seq int64) {
	a.mu.Lock()
	if seq > a.max[conv] {
		a.max[conv] = seq
	}
	a.mu.Unlock()
}

func (a *ackState) take() map[string]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.max
	a.max = map[string]int64{}
	return m
}

// online is a connected load user.
type online struct {
	conn *api.Conn
	acks *ackState             // cumulative mode
	each chan events.ReadFrame // every-push mode
}

// connStats counts the acks the load users sent, for the report.
type connStats struct {
	acksSent, acksDropped, ackWriteErrors atomic.Int64
}

// connectUsers opens one WebSocket per user (edges round robin) and hands every frame to handle
// (on the connection's read goroutine: it must not block). Message pushes are acked as mode says,
// until ctx ends.
func connectUsers(ctx context.Context, c Common, users []User, mode AckMode, progress Progress, handle func(u int, f events.Frame)) ([]online, *connStats, error) {
	out := make([]online, len(users))
	st := &connStats{}
	var done atomic.Int64
	sem := make(chan struct{}, c.SetupConcurrency)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for i, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := online{}
			if mode.EveryPush {
				o.each = make(chan events.ReadFrame, ackQueue)
			} else {
				o.acks = &ackState{max: map[string]int64{}}
			}
			conn, err := api.Dial(ctx, c.Edges[i%len(c.Edges)], u.Token, nil, func(f events.Frame) {
				if f.Type == events.FrameMessage {
					if m, ok := api.DecodeMessage(f.Data); ok {
						if o.each != nil {
							select {
							case o.each <- events.ReadFrame{ConversationID: m.ConversationID, Seq: m.Seq}:
							default:
								st.acksDropped.Add(1)
							}
						} else {
							o.acks.note(m.ConversationID, m.Seq)
						}
					}
				}
				handle(i, f)
			})
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("connect %s: %w", u.Username, err)
				}
				errMu.Unlock()
				return
			}
			o.conn = conn
			out[i] = o
			if o.each != nil {
				go ackEach(ctx, o, st)
			}
			if progress != nil {
				progress("connections", int(done.Add(1)), len(users))
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(out)
		return nil, nil, firstErr
	}
	if !mode.EveryPush {
		go ackCumulative(ctx, out, st)
	}
	return out, st, nil
}

// ackEach writes one ack per push, in arrival order, for one connection.
func ackEach(ctx context.Context, o online, st *connStats) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.conn.Done():
			return
		case a := <-o.each:
			sendAck(o.conn, a, st)
		}
	}
}

// ackCumulative flushes every connection's highest seq per conversation every cumulativeEvery.
func ackCumulative(ctx context.Context, out []online, st *connStats) {
	t := time.NewTicker(cumulativeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, o := range out {
			for conv, seq := range o.acks.take() {
				sendAck(o.conn, events.ReadFrame{ConversationID: conv, Seq: seq}, st)
			}
		}
	}
}

func sendAck(c *api.Conn, a events.ReadFrame, st *connStats) {
	d, _ := json.Marshal(a)
	if c.Send(events.Frame{Type: events.FrameAck, Data: d}, time.Second) != nil {
		st.ackWriteErrors.Add(1)
		return
	}
	st.acksSent.Add(1)
}

// setConnFigures reports the acks sent and the connections the server closed before the run ended
// (by close code: 4008 rate limited, 4009 slow consumer, ...). Call it before closeAll.
func setConnFigures(r *report.Report, conns []online, st *connStats) {
	codes := map[string]int{}
	n := 0
	for _, o := range conns {
		select {
		case <-o.conn.Done():
			n++
			codes[strconv.Itoa(o.conn.CloseCode())]++
		default:
		}
	}
	r.Set("disconnects", float64(n))
	r.Set("acks_sent", float64(st.acksSent.Load()))
	r.Set("acks_dropped", float64(st.acksDropped.Load()))
	r.Set("ack_write_errors", float64(st.ackWriteErrors.Load()))
	r.Details["close_codes"] = codes
}

func closeAll(os []online) {
	for _, o := range os {
		if o.conn != nil {
			o.conn.Close()
		}
	}
}
