package run

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/api"
	"github.com/parley-im/parley/load/internal/report"
	"github.com/parley-im/parley/load/internal/stats"
)

// Fanout runs the fanout mode: one group of Members online users; the owner sends Messages messages
// one after another over HTTP, each once the previous one reached everybody (or Grace passed), and
// the time until each member has each message is measured.
func Fanout(ctx context.Context, c FanoutConfig, progress Progress, r *report.Report) error {
	h := api.NewHTTP(c.Gateway, max(c.SetupConcurrency, 16))
	users, err := SetupUsers(ctx, h, c.Common, c.Members, progress)
	if err != nil {
		return &SetupError{err}
	}
	conv, err := SetupGroup(ctx, h, users[0], fmt.Sprintf("load %s fanout", c.RunID), users[1:])
	if err != nil {
		return &SetupError{err}
	}
	var mu sync.Mutex
	var current string // client_msg_id in flight
	var sentAt time.Time
	got := map[int]bool{}
	allIn := make(chan struct{}, 1)
	var perMember stats.Samples
	dups := 0
	conns, err := connectUsers(ctx, c.Common, users, progress, func(u int, m events.Message) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if m.ClientMsgID != current || u == 0 {
			return
		}
		if got[u] {
			dups++
			return
		}
		got[u] = true
		perMember.Add(now.Sub(sentAt))
		if len(got) == len(users)-1 {
			select {
			case allIn <- struct{}{}:
			default:
			}
		}
	}, nil)
	if err != nil {
		return &SetupError{err}
	}
	defer closeAll(conns)

	var complete stats.Samples
	missing := 0
	for k := range c.Messages {
		id := c.RunID + ".f" + strconv.Itoa(k)
		mu.Lock()
		current, sentAt, got = id, time.Now(), map[int]bool{}
		select { // a late "all in" of the previous message must not end this one
		case <-allIn:
		default:
		}
		mu.Unlock()
		if _, err := h.Send(ctx, users[0].Token, conv, events.SendMessage{ClientMsgID: id, Type: events.MessageText, Text: "fanout " + strconv.Itoa(k)}); err != nil {
			return fmt.Errorf("send %d: %w", k, err)
		}
		select {
		case <-allIn:
			mu.Lock()
			complete.Add(time.Since(sentAt))
			mu.Unlock()
		case <-time.After(c.Grace):
			mu.Lock()
			missing += len(users) - 1 - len(got)
			mu.Unlock()
		case <-ctx.Done():
			return ctx.Err()
		}
		if progress != nil {
			progress("messages", k+1, c.Messages)
		}
	}
	s, all := perMember.Summarize(), complete.Summarize()
	r.Set("members", float64(len(users)))
	r.Set("messages", float64(c.Messages))
	r.Set("deliveries", float64(s.Count))
	r.Set("p50_ms", s.P50MS)
	r.Set("p99_ms", s.P99MS)
	r.Set("max_ms", s.MaxMS)
	r.Set("all_members_max_ms", all.MaxMS)
	r.Set("missing", float64(missing))
	r.Set("dup", float64(dups))
	r.Details["per_member"] = s
	r.Details["until_all_members"] = all
	return nil
}
