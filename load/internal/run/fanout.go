package run

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/api"
	"github.com/parley-im/parley/load/internal/report"
	"github.com/parley-im/parley/load/internal/stats"
)

// Fanout runs the fanout mode: one group of Members online users; the owner sends Messages messages
// one after another over HTTP, each once the previous one reached everybody (or Grace passed), and
// the time until each member has each message is measured. Answers, order and history are checked
// as in the chat mode.
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
	all := make([]int, len(users))
	for i := range all {
		all[i] = i
	}
	members := [][]int{all}
	tr := newTracker(msgPrefix(c.RunID, time.Now()), []string{conv}, members)
	// Buffered: the last member's push can arrive before the HTTP answer of its send.
	allIn := make(chan int, 1)
	tr.onComplete = func(i int) {
		select {
		case allIn <- i:
		default:
		}
	}
	conns, cst, err := connectUsers(ctx, c.Common, users, c.Ack, progress, tr.onFrame)
	if err != nil {
		return &SetupError{err}
	}
	defer closeAll(conns)

	var complete stats.Samples
	missing := 0
	for k := range c.Messages {
		select { // a late "all in" of the previous message must not end this one
		case <-allIn:
		default:
		}
		idx, id := tr.newMsg(0, 0)
		sentAt := time.Now()
		httpSend(ctx, h, tr, users[0].Token, conv, idx, events.SendMessage{ClientMsgID: id, Type: events.MessageText, Text: "fanout " + strconv.Itoa(k)})
		timeout := time.After(c.Grace)
	wait:
		for {
			select {
			case i := <-allIn:
				if i == idx {
					complete.Add(time.Since(sentAt))
					break wait
				}
			case <-timeout:
				missing += len(users) - 1 - tr.recvOf(idx)
				break wait
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if progress != nil {
			progress("messages", k+1, c.Messages)
		}
	}
	setConnFigures(r, conns, cst)
	hist := readHistories(ctx, h, users, members, []string{conv})
	f := tr.settle(hist)
	f.set(r)
	untilAll := complete.Summarize()
	r.Set("members", float64(len(users)))
	r.Set("messages", float64(c.Messages))
	r.Set("all_members_max_ms", untilAll.MaxMS)
	r.Set("missing", float64(missing))
	r.Details["per_member"] = f.Latency
	r.Details["until_all_members"] = untilAll
	return historyError(hist)
}
