package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/api"
	"github.com/parley-im/parley/load/internal/report"
)

// Chat runs the chat mode.
func Chat(ctx context.Context, c ChatConfig, progress Progress, r *report.Report) error {
	return chat(ctx, c, progress, r, nil)
}

// chat runs the chat workload. during, when set, runs beside the send phase and is cancelled when
// sending ends (the soak mode samples the processes there: setup and grace are not steady state).
func chat(ctx context.Context, c ChatConfig, progress Progress, r *report.Report, during func(ctx context.Context)) error {
	h := api.NewHTTP(c.Gateway, max(c.SetupConcurrency, 64))
	users, err := SetupUsers(ctx, h, c.Common, c.Users, progress)
	if err != nil {
		return &SetupError{err}
	}
	// User i is in conversation i % Convs; the first user of each conversation owns it.
	convs := make([]string, c.Convs)
	members := make([][]int, c.Convs)
	for i := range users {
		members[i%c.Convs] = append(members[i%c.Convs], i)
	}
	for k := range convs {
		ms := make([]User, len(members[k]))
		for j, ui := range members[k] {
			ms[j] = users[ui]
		}
		id, err := SetupGroup(ctx, h, ms[0], fmt.Sprintf("load %s chat %d", c.RunID, k), ms[1:])
		if err != nil {
			return &SetupError{err}
		}
		convs[k] = id
		if progress != nil {
			progress("conversations", k+1, c.Convs)
		}
	}
	tr := newTracker(msgPrefix(c.RunID, time.Now()), convs, members)
	conns, cst, err := connectUsers(ctx, c.Common, users, c.Ack, progress, tr.onFrame)
	if err != nil {
		return &SetupError{err}
	}
	defer closeAll(conns)

	// One sender goroutine per user with a small queue: the scheduler never blocks on a slow socket;
	// a full queue is counted (the client could not keep the rate) instead of silently slowing it.
	type job struct{ idx, conv int }
	queues := make([]chan job, len(users))
	var wg sync.WaitGroup
	for u := range users {
		queues[u] = make(chan job, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queues[u] {
				body := events.SendMessage{ClientMsgID: tr.clientMsgID(j.idx), Type: events.MessageText, Text: "load " + strconv.Itoa(j.idx)}
				if c.Transport == "http" {
					httpSend(ctx, h, tr, users[u].Token, convs[j.conv], j.idx, body)
					continue
				}
				d, _ := json.Marshal(events.SendFrame{ConversationID: convs[j.conv], SendMessage: body})
				if conns[u].conn.Send(events.Frame{Type: events.FrameSend, ID: strconv.Itoa(j.idx), Data: d}, 5*time.Second) != nil {
					tr.writeFailed(j.idx)
				}
			}
		}()
	}
	duringCtx, stopDuring := context.WithCancel(ctx)
	var duringDone sync.WaitGroup
	if during != nil {
		duringDone.Add(1)
		go func() { defer duringDone.Done(); during(duringCtx) }()
	}
	var cpuBefore cpuSnapshot
	tick := clockTick()
	if c.CPUDataDir != "" {
		cpuBefore = takeCPU(filepath.Join(c.CPUDataDir, "run"), tick)
	}
	runStart := time.Now()
	// Open-loop schedule: on each tick send whatever is due by now, so a late tick is caught up and
	// the offered rate stays R whatever the tick granularity.
	total := int(c.Rate * c.Duration.Seconds())
	ticker := time.NewTicker(max(time.Millisecond, time.Duration(float64(time.Second)/c.Rate)))
	sent := 0
send:
	for sent < total {
		select {
		case <-ctx.Done():
			break send
		case <-ticker.C:
		}
		due := min(total, int(time.Since(runStart).Seconds()*c.Rate)+1)
		for ; sent < due; sent++ {
			u := sent % len(users)
			idx, _ := tr.newMsg(u%c.Convs, u)
			select {
			case queues[u] <- job{idx, u % c.Convs}:
			default:
				tr.dropped(idx)
			}
		}
		if progress != nil {
			progress("sent", sent, total)
		}
	}
	ticker.Stop()
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	sendTime := time.Since(runStart)
	stopDuring()
	duringDone.Wait()

	// Grace: wait until every acked message reached every other member and every send was answered,
	// or the grace period ends; whatever is still unanswered then is "unanswered".
	graceEnd := time.Now().Add(c.Grace)
	for time.Now().Before(graceEnd) && ctx.Err() == nil && !tr.settled() {
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	// CPU from the first send until every message was answered and delivered (or the grace ended):
	// the work of the messages, not of the setup or the history reads below.
	var cpuUsedBy map[string]time.Duration
	cpuWindow := time.Since(runStart)
	if cpuBefore != nil {
		cpuUsedBy = cpuUsed(cpuBefore, takeCPU(filepath.Join(c.CPUDataDir, "run"), tick))
	}
	setConnFigures(r, conns, cst)
	hist := readHistories(ctx, h, users, members, convs)
	f := tr.settle(hist)
	f.set(r)
	if cpuUsedBy != nil {
		setCPUFigures(r, cpuUsedBy, f.Acked, cpuWindow)
	}
	r.Set("throughput_msg_s", float64(f.Acked)/sendTime.Seconds())
	return historyError(hist)
}

// httpSend sends message idx over HTTP and records the answer: 200/201 -> result, a problem ->
// error answer (by code, or http_<status> when the body has none), no HTTP answer -> unanswered.
func httpSend(ctx context.Context, h *api.HTTP, tr *tracker, token, conv string, idx int, body events.SendMessage) {
	m, err := h.Send(ctx, token, conv, body)
	var ae *api.Error
	switch {
	case err == nil:
		tr.result(idx, m)
	case errors.As(err, &ae):
		code := string(ae.Problem.Code)
		if code == "" {
			code = "http_" + strconv.Itoa(ae.Status)
		}
		tr.errorAnswer(idx, code)
	default:
		tr.noAnswer(idx)
	}
}

// readHistories reads every conversation's whole history (as its owner, the first member), for the
// final check of the answers. A conversation that cannot be read is returned with its error, and its
// messages are left unverified rather than counted as lost.
func readHistories(ctx context.Context, h *api.HTTP, users []User, members [][]int, convs []string) []history {
	out := make([]history, len(convs))
	for k, conv := range convs {
		tok := users[members[k][0]].Token
		var after int64
		for range 1_000_000 {
			page, err := h.History(ctx, tok, conv, after, 200)
			if err != nil {
				out[k].err = fmt.Errorf("history of %s after seq %d: %w", conv, after, err)
				break
			}
			out[k].msgs = append(out[k].msgs, page.Messages...)
			if !page.HasMore || len(page.Messages) == 0 {
				break
			}
			after = page.Messages[len(page.Messages)-1].Seq
		}
	}
	return out
}

// historyError fails the run when some history could not be read: its figures are in the report,
// but "lost == 0" would not have been checked.
func historyError(hist []history) error {
	var errs []error
	for _, h := range hist {
		if h.err != nil {
			errs = append(errs, h.err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d histories unreadable, their messages unverified: %w", len(errs), len(hist), errors.Join(errs...))
	}
	return nil
}
