package run

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/api"
	"github.com/parley-im/parley/load/internal/report"
	"github.com/parley-im/parley/load/internal/stats"
)

// tracker follows every message of a chat or fanout run: when it was sent, whether it was acked, and
// which recipients got it by push (and how often). Message i's client_msg_id is "<run>.<i>", so a
// push is matched without a lookup table.
type tracker struct {
	run   string
	start time.Time

	mu       sync.Mutex
	msgs     []sentMsg
	got      map[uint64]uint8 // msg<<32 | user -> pushes
	latency  stats.Samples
	dups     int
	received int
}

type sentMsg struct {
	conv   int
	sender int
	sentNS int64
	acked  bool
	seq    int64
	id     string
}

func newTracker(run string) *tracker {
	return &tracker{run: run, start: time.Now(), got: map[uint64]uint8{}}
}

func (t *tracker) newMsg(conv, sender int) (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := len(t.msgs)
	t.msgs = append(t.msgs, sentMsg{conv: conv, sender: sender, sentNS: int64(time.Since(t.start))})
	return i, t.run + "." + strconv.Itoa(i)
}

func (t *tracker) acked(i int, m events.Message) {
	t.mu.Lock()
	t.msgs[i].acked, t.msgs[i].seq, t.msgs[i].id = true, m.Seq, m.ID
	t.mu.Unlock()
}

func (t *tracker) index(clientMsgID string) (int, bool) {
	rest, ok := strings.CutPrefix(clientMsgID, t.run+".")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
}

// pushed records that user got message clientMsgID.
func (t *tracker) pushed(user int, clientMsgID string) {
	now := int64(time.Since(t.start))
	i, ok := t.index(clientMsgID)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if i >= len(t.msgs) {
		return
	}
	k := uint64(i)<<32 | uint64(user)
	t.got[k]++
	if t.got[k] > 1 {
		t.dups++
		return
	}
	t.received++
	t.latency.Add(time.Duration(now - t.msgs[i].sentNS))
}

// ackReq tracks per-connection cumulative acks, flushed periodically instead of one frame per push.
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

// online is a connected load user with its acks flushed in the background.
type online struct {
	conn *api.Conn
	acks *ackState
}

// connectUsers opens one WebSocket per user (edges round robin); push frames go to onMessage and
// result/error frames to onReply. Acks are flushed every 200 ms.
func connectUsers(ctx context.Context, c Common, users []User, progress Progress, onMessage func(u int, m events.Message), onReply func(u int, f events.Frame)) ([]online, error) {
	out := make([]online, len(users))
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
			acks := &ackState{max: map[string]int64{}}
			conn, err := api.Dial(ctx, c.Edges[i%len(c.Edges)], u.Token, nil, func(f events.Frame) {
				switch f.Type {
				case events.FrameMessage:
					if m, ok := api.DecodeMessage(f.Data); ok {
						acks.note(m.ConversationID, m.Seq)
						onMessage(i, m)
					}
				case events.FrameResult, events.FrameError:
					if onReply != nil {
						onReply(i, f)
					}
				}
			})
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("connect %s: %w", u.Username, err)
				}
				errMu.Unlock()
				return
			}
			out[i] = online{conn: conn, acks: acks}
			if progress != nil {
				progress("connections", int(done.Add(1)), len(users))
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(out)
		return nil, firstErr
	}
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, o := range out {
				for conv, seq := range o.acks.take() {
					d, _ := json.Marshal(events.ReadFrame{ConversationID: conv, Seq: seq})
					_ = o.conn.Send(events.Frame{Type: events.FrameAck, Data: d}, time.Second)
				}
			}
		}
	}()
	return out, nil
}

func closeAll(os []online) {
	for _, o := range os {
		if o.conn != nil {
			o.conn.Close()
		}
	}
}

// Chat runs the chat mode.
func Chat(ctx context.Context, c ChatConfig, progress Progress, r *report.Report) error {
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
	tr := newTracker(c.RunID)
	var sendErrors, backlog atomic.Int64
	frameMsg := func(u int, f events.Frame) {
		i, err := strconv.Atoi(f.ID)
		if err != nil {
			return
		}
		if f.Type == events.FrameError {
			sendErrors.Add(1)
			return
		}
		var res events.MessageResponse
		if json.Unmarshal(f.Data, &res) == nil {
			tr.acked(i, res.Message)
		}
	}
	conns, err := connectUsers(ctx, c.Common, users, progress, func(u int, m events.Message) { tr.pushed(u, m.ClientMsgID) }, frameMsg)
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
				body := events.SendMessage{ClientMsgID: c.RunID + "." + strconv.Itoa(j.idx), Type: events.MessageText, Text: "load " + strconv.Itoa(j.idx)}
				if c.Transport == "http" {
					m, err := h.Send(ctx, users[u].Token, convs[j.conv], body)
					if err != nil {
						sendErrors.Add(1)
						continue
					}
					tr.acked(j.idx, m)
					continue
				}
				d, _ := json.Marshal(events.SendFrame{ConversationID: convs[j.conv], SendMessage: body})
				if conns[u].conn.Send(events.Frame{Type: events.FrameSend, ID: strconv.Itoa(j.idx), Data: d}, 5*time.Second) != nil {
					sendErrors.Add(1)
				}
			}
		}()
	}
	runStart := time.Now()
	// Open-loop schedule: on each tick send whatever is due by now, so a late tick is caught up and
	// the offered rate stays R whatever the tick granularity.
	total := int(c.Rate * c.Duration.Seconds())
	tick := time.NewTicker(max(time.Millisecond, time.Duration(float64(time.Second)/c.Rate)))
	sent := 0
send:
	for sent < total {
		select {
		case <-ctx.Done():
			break send
		case <-tick.C:
		}
		due := min(total, int(time.Since(runStart).Seconds()*c.Rate)+1)
		for ; sent < due; sent++ {
			u := sent % len(users)
			idx, _ := tr.newMsg(u%c.Convs, u)
			select {
			case queues[u] <- job{idx, u % c.Convs}:
			default:
				backlog.Add(1)
			}
		}
		if progress != nil {
			progress("sent", sent, total)
		}
	}
	tick.Stop()
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	sendTime := time.Since(runStart)

	// Grace: wait until every acked message reached every other member, or the grace period ends.
	expected := func() (want, got int) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for _, m := range tr.msgs {
			if m.acked {
				want += len(members[m.conv]) - 1
			}
		}
		return want, tr.received
	}
	graceEnd := time.Now().Add(c.Grace)
	for time.Now().Before(graceEnd) && ctx.Err() == nil {
		if w, g := expected(); g >= w {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	lost, missing := verifyByHistory(ctx, h, tr, users, members, convs)

	tr.mu.Lock()
	acked, unacked := 0, 0
	for _, m := range tr.msgs {
		if m.acked {
			acked++
		} else {
			unacked++
		}
	}
	dups, received := tr.dups, tr.received
	tr.mu.Unlock()
	s := tr.latency.Summarize()
	r.Set("sent", float64(sent))
	r.Set("acked", float64(acked))
	r.Set("unacked", float64(unacked))
	r.Set("send_errors", float64(sendErrors.Load()))
	r.Set("client_backlog_dropped", float64(backlog.Load()))
	r.Set("throughput_msg_s", float64(acked)/sendTime.Seconds())
	r.Set("deliveries", float64(received))
	r.Set("p50_ms", s.P50MS)
	r.Set("p95_ms", s.P95MS)
	r.Set("p99_ms", s.P99MS)
	r.Set("max_ms", s.MaxMS)
	r.Set("lost", float64(lost))
	r.Set("push_missing", float64(missing))
	r.Set("dup", float64(dups))
	r.Details["latency"] = s
	return nil
}

// verifyByHistory settles every (acked message, recipient) pair without a push: if the message is in
// the conversation's history, the recipient would get it by pull (push_missing); if not, it is lost
// (acked, never stored or never reachable).
func verifyByHistory(ctx context.Context, h *api.HTTP, tr *tracker, users []User, members [][]int, convs []string) (lost, missing int) {
	tr.mu.Lock()
	type gap struct{ msg, conv int }
	var gaps []gap
	for i, m := range tr.msgs {
		if !m.acked {
			continue
		}
		for _, u := range members[m.conv] {
			if u != m.sender && tr.got[uint64(i)<<32|uint64(u)] == 0 {
				gaps = append(gaps, gap{i, m.conv})
			}
		}
	}
	tr.mu.Unlock()
	if len(gaps) == 0 {
		return 0, 0
	}
	stored := map[int]map[string]bool{} // conv -> stored message ids
	for _, g := range gaps {
		if stored[g.conv] != nil {
			continue
		}
		ids := map[string]bool{}
		tok := users[members[g.conv][0]].Token
		var after int64
		for range 100_000 {
			page, err := h.History(ctx, tok, convs[g.conv], after, 200)
			if err != nil {
				break
			}
			for _, m := range page.Messages {
				ids[m.ID] = true
			}
			if !page.HasMore || len(page.Messages) == 0 {
				break
			}
			after = page.Messages[len(page.Messages)-1].Seq
		}
		stored[g.conv] = ids
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, g := range gaps {
		if stored[g.conv][tr.msgs[g.msg].id] {
			missing++
		} else {
			lost++
		}
	}
	return lost, missing
}
