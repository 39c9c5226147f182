package run

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/api"
	"github.com/parley-im/parley/load/internal/report"
	"github.com/parley-im/parley/load/internal/stats"
)

// tracker follows every message of a chat or fanout run: when it was sent, how its send was
// answered (and whether that answer named the message sent), which recipients got it by push, in
// which order, and finally what the conversation's history holds. Message i is sent with
// client_msg_id "<prefix>.<i>" and, over WS, frame id "<i>", so answers and pushes are matched
// without a lookup table.
//
// The prefix is the run id plus a nonce of this invocation: a rerun with the same -run reuses the
// users, and the server answers a (sender, client_msg_id) it already stored with that original
// message, from whichever conversation it was sent to. Without the nonce every send of a rerun
// would be a replay of the previous run's message.
//
// An answer is taken at its word only until history is read: a result naming the right
// client_msg_id but a seq where history holds another message is a wrong answer, not an ack.
type tracker struct {
	prefix  string   // client_msg_id prefix: "<run>.<nonce>"
	convIDs []string // conversation index -> id
	members [][]int  // conversation index -> user indexes
	clock   func() time.Time
	start   time.Time

	mu      sync.Mutex
	msgs    []sentMsg
	got     map[uint64]uint8 // msg<<32 | user -> pushes
	lastSeq map[uint64]int64 // user<<32 | conversation index -> highest seq pushed so far
	latency stats.Samples    // send -> push at another member
	ackLat  stats.Samples    // send -> correct result
	errLat  stats.Samples    // send -> error answer
	// onComplete, when set, is called (with mu held: it must not block) once message i reached every
	// other member of its conversation by push.
	onComplete func(i int)

	wrong   map[string]int // kind -> wrong answers
	errs    map[string]int // code -> error answers
	sampled []string       // a few wrong answers, described, for the report

	dups, received, outOfOrder, wrongPushes, foreignPushes, extraAnswers, strayAnswers int
}

// outcome is how a send ended, from the client's side.
type outcome uint8

const (
	outPending     outcome = iota // sent, no answer yet (unanswered if it stays so)
	outAcked                      // a result naming the message sent
	outErrored                    // an explicit error answer
	outWrong                      // a result naming another message (or contradicted by history)
	outWriteFailed                // the WS frame could not be written: the server never saw it
	outNoAnswer                   // HTTP: the request ended without an HTTP answer (transport error, timeout)
	outDropped                    // never sent: the client's own queue was full (it could not keep the rate)
)

type sentMsg struct {
	conv, sender int
	sentNS       int64
	outcome      outcome
	answers      uint8
	seq          int64
	id           string
	recv         int32 // distinct other members that got it by push
}

// maxWrongSamples bounds the wrong answers described in the report: the count is the figure, the
// samples are for whoever debugs it.
const maxWrongSamples = 10

func newTracker(prefix string, convIDs []string, members [][]int) *tracker {
	t := &tracker{
		prefix: prefix, convIDs: convIDs, members: members,
		clock: time.Now, got: map[uint64]uint8{}, lastSeq: map[uint64]int64{},
		wrong: map[string]int{}, errs: map[string]int{},
	}
	t.start = t.clock()
	return t
}

// msgPrefix is the client_msg_id prefix of one invocation: the run id and a nonce from the clock
// (base 36, 8 characters), well inside the 64 characters API.md allows with a 12-character run id.
func msgPrefix(run string, now time.Time) string {
	return run + "." + strconv.FormatInt(now.UnixNano()%(1<<41), 36)
}

func (t *tracker) now() int64 { return int64(t.clock().Sub(t.start)) }

// newMsg registers a send of sender into conversation conv and returns its index and client_msg_id.
func (t *tracker) newMsg(conv, sender int) (int, string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	i := len(t.msgs)
	t.msgs = append(t.msgs, sentMsg{conv: conv, sender: sender, sentNS: now})
	return i, t.clientMsgID(i)
}

func (t *tracker) clientMsgID(i int) string { return t.prefix + "." + strconv.Itoa(i) }

func (t *tracker) index(clientMsgID string) (int, bool) {
	rest, ok := strings.CutPrefix(clientMsgID, t.prefix+".")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// onFrame takes every frame a load user's connection receives (after hello).
func (t *tracker) onFrame(user int, f events.Frame) {
	switch f.Type {
	case events.FrameMessage:
		if m, ok := api.DecodeMessage(f.Data); ok {
			t.pushed(user, m)
		}
	case events.FrameResult:
		i, err := strconv.Atoi(f.ID)
		if err != nil {
			t.stray()
			return
		}
		m, ok := api.DecodeMessage(f.Data)
		if !ok {
			t.wrongAnswer(i, "malformed", "result without a message")
			return
		}
		t.result(i, m)
	case events.FrameError:
		var e events.ErrorFrame
		_ = json.Unmarshal(f.Data, &e)
		i, err := strconv.Atoi(f.ID)
		if err != nil {
			t.stray()
			return
		}
		t.errorAnswer(i, string(e.Code))
	}
}

func (t *tracker) stray() {
	t.mu.Lock()
	t.strayAnswers++
	t.mu.Unlock()
}

// result records a result (WS) or a 200/201 (HTTP) answering send i with message m.
func (t *tracker) result(i int, m events.Message) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if i < 0 || i >= len(t.msgs) {
		t.strayAnswers++
		return
	}
	s := &t.msgs[i]
	s.answers++
	switch {
	case m.ClientMsgID != t.clientMsgID(i):
		t.markWrong(i, "client_msg_id", "answer names client_msg_id "+strconv.Quote(m.ClientMsgID))
		return
	case m.ConversationID != t.convIDs[s.conv]:
		t.markWrong(i, "conversation", "answer names conversation "+strconv.Quote(m.ConversationID))
		return
	case m.ID == "" || m.Seq <= 0:
		t.markWrong(i, "malformed", "answer without message id or seq")
		return
	}
	if s.answers > 1 {
		t.extraAnswers++
		if s.outcome == outAcked && (s.id != m.ID || s.seq != m.Seq) {
			t.markWrong(i, "conflicting", "a second result names message "+m.ID+" seq "+strconv.FormatInt(m.Seq, 10)+", the first "+s.id+" seq "+strconv.FormatInt(s.seq, 10))
		}
		return
	}
	s.outcome, s.id, s.seq = outAcked, m.ID, m.Seq
	t.ackLat.Add(time.Duration(now - s.sentNS))
}

// errorAnswer records an explicit error answering send i (an error frame, or an HTTP problem).
func (t *tracker) errorAnswer(i int, code string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if i < 0 || i >= len(t.msgs) {
		t.strayAnswers++
		return
	}
	s := &t.msgs[i]
	s.answers++
	if s.answers > 1 {
		t.extraAnswers++
		return
	}
	if code == "" {
		code = "unknown"
	}
	s.outcome = outErrored
	t.errs[code]++
	t.errLat.Add(time.Duration(now - s.sentNS))
}

// writeFailed records that send i never left the client.
func (t *tracker) writeFailed(i int) { t.setOutcome(i, outWriteFailed) }

// dropped records a send the client scheduled but never made.
func (t *tracker) dropped(i int) { t.setOutcome(i, outDropped) }

// noAnswer records an HTTP send that ended without an HTTP answer.
func (t *tracker) noAnswer(i int) { t.setOutcome(i, outNoAnswer) }

func (t *tracker) setOutcome(i int, o outcome) {
	t.mu.Lock()
	if i >= 0 && i < len(t.msgs) && t.msgs[i].outcome == outPending {
		t.msgs[i].outcome = o
	}
	t.mu.Unlock()
}

// markWrong turns send i into a wrong answer (never acked, whatever came before). mu held.
func (t *tracker) markWrong(i int, kind, what string) {
	s := &t.msgs[i]
	if s.outcome == outWrong {
		return // one wrong answer per send, however many ways it is wrong
	}
	s.outcome = outWrong
	t.wrong[kind]++
	if len(t.sampled) < maxWrongSamples {
		t.sampled = append(t.sampled, "send "+t.clientMsgID(i)+": "+what)
	}
}

func (t *tracker) wrongAnswer(i int, kind, what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i < 0 || i >= len(t.msgs) {
		t.strayAnswers++
		return
	}
	t.msgs[i].answers++
	t.markWrong(i, kind, what)
}

// pushed records that user got message m by push.
func (t *tracker) pushed(user int, m events.Message) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.index(m.ClientMsgID)
	if !ok || i >= len(t.msgs) {
		t.foreignPushes++
		return
	}
	s := &t.msgs[i]
	k := uint64(i)<<32 | uint64(user)
	t.got[k]++
	if t.got[k] > 1 {
		t.dups++ // a repeat is a duplicate, never also out of order
		return
	}
	if m.ConversationID != t.convIDs[s.conv] {
		t.wrongPushes++
		return
	}
	ck := uint64(user)<<32 | uint64(s.conv)
	if m.Seq < t.lastSeq[ck] {
		t.outOfOrder++
	} else {
		t.lastSeq[ck] = m.Seq
	}
	if user == s.sender {
		// The sender's own devices get the push too (protocol.md); it is not a delivery to another
		// member, so it counts for order and duplicates only.
		return
	}
	t.received++
	s.recv++
	t.latency.Add(time.Duration(now - s.sentNS))
	if t.onComplete != nil && int(s.recv) == len(t.members[s.conv])-1 {
		t.onComplete(i)
	}
}

// recvOf is how many other members got message i by push so far.
func (t *tracker) recvOf(i int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(t.msgs[i].recv)
}

// settled reports whether every acked message reached every other member and no WS send waits
// for its answer: the grace period can end early.
func (t *tracker) settled() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.msgs {
		switch s.outcome {
		case outPending:
			return false
		case outAcked:
			if int(s.recv) < len(t.members[s.conv])-1 {
				return false
			}
		}
	}
	return true
}

// Figures are the correctness and latency figures of a chat or fanout run.
type Figures struct {
	Sent, Acked, Unacked int
	// WrongAnswers: results (or HTTP 200/201) naming another client_msg_id or conversation than the
	// send they answer, or a seq where history holds another message. Never counted as acked.
	WrongAnswers int
	WrongByKind  map[string]int
	WrongSamples []string
	ErrorAnswers int
	ErrorsByCode map[string]int
	// Unanswered: WS sends with neither result nor error by the end of the grace period, plus HTTP
	// sends that ended without an HTTP answer.
	Unanswered  int
	WriteFailed int
	Dropped     int // client_backlog_dropped: scheduled, never sent
	// StoredAfterError: sends answered with an error that history holds anyway (informational: the
	// protocol allows it, "the command may still apply"); StoredUnanswered likewise for unanswered.
	StoredAfterError, StoredUnanswered int
	// LostMessages: acked sends history does not hold at the answered seq; Lost counts their
	// (message, other member) pairs without a push, as the figure always has.
	LostMessages, Lost, PushMissing           int
	Dup, OutOfOrder, WrongPushes, StoredTwice int
	ExtraAnswers, StrayAnswers, ForeignPushes int
	Deliveries                                int
	Latency, AckLatency, TimeToError          stats.Summary
	// Unverified: acked sends in conversations whose history could not be read.
	Unverified int
}

// history is one conversation's stored messages as read at the end, or the error that prevented it.
type history struct {
	msgs []events.Message
	err  error
}

// settle reads the answers against history (one entry per conversation index) and returns the
// figures. Call it once sending and the grace period are over.
func (t *tracker) settle(hist []history) Figures {
	t.mu.Lock()
	defer t.mu.Unlock()
	type key struct {
		conv int
		seq  int64
	}
	bySeq := map[key]events.Message{}
	stored := map[int]int{} // message index -> times stored
	for c, h := range hist {
		for _, m := range h.msgs {
			bySeq[key{c, m.Seq}] = m
			if i, ok := t.index(m.ClientMsgID); ok && i < len(t.msgs) {
				stored[i]++
			}
		}
	}
	f := Figures{Sent: len(t.msgs)}
	for i := range t.msgs {
		s := &t.msgs[i]
		if n := stored[i]; n > 1 {
			f.StoredTwice += n - 1
		}
		if s.outcome == outAcked && hist[s.conv].err == nil {
			h, ok := bySeq[key{s.conv, s.seq}]
			switch {
			case ok && (h.ID != s.id || h.ClientMsgID != t.clientMsgID(i)):
				t.markWrong(i, "history", "answered seq "+strconv.FormatInt(s.seq, 10)+" holds "+h.ClientMsgID+" ("+h.ID+"), not "+s.id)
			case !ok && stored[i] > 0:
				t.markWrong(i, "history", "answered seq "+strconv.FormatInt(s.seq, 10)+" is empty, the message is stored at another seq")
			case !ok:
				f.LostMessages++
			}
		}
		switch s.outcome {
		case outAcked:
			f.Acked++
			if hist[s.conv].err != nil {
				f.Unverified++
				continue
			}
			storedHere := bySeq[key{s.conv, s.seq}].ID == s.id
			for _, u := range t.members[s.conv] {
				if u == s.sender || t.got[uint64(i)<<32|uint64(u)] > 0 {
					continue
				}
				if storedHere {
					f.PushMissing++
				} else {
					f.Lost++
				}
			}
		case outErrored:
			if stored[i] > 0 {
				f.StoredAfterError++
			}
		case outPending, outNoAnswer:
			f.Unanswered++
			if stored[i] > 0 {
				f.StoredUnanswered++
			}
		case outWriteFailed:
			f.WriteFailed++
		case outDropped:
			f.Dropped++
		}
	}
	f.Unacked = f.Sent - f.Acked
	f.WrongByKind = map[string]int{}
	for k, v := range t.wrong {
		f.WrongByKind[k] = v
		f.WrongAnswers += v
	}
	f.WrongSamples = append([]string{}, t.sampled...)
	f.ErrorsByCode = map[string]int{}
	for k, v := range t.errs {
		f.ErrorsByCode[k] = v
		f.ErrorAnswers += v
	}
	f.Dup, f.OutOfOrder, f.WrongPushes = t.dups, t.outOfOrder, t.wrongPushes
	f.ExtraAnswers, f.StrayAnswers, f.ForeignPushes = t.extraAnswers, t.strayAnswers, t.foreignPushes
	f.Deliveries = t.received
	f.Latency, f.AckLatency, f.TimeToError = t.latency.Summarize(), t.ackLat.Summarize(), t.errLat.Summarize()
	return f
}

// Invariants are the figures that must be zero whatever the load: a non-zero one is a wrong answer
// of the system, not a slow one, and makes parley-load exit 5.
func Invariants() []string {
	return []string{"wrong_answers", "lost", "lost_messages", "dup", "out_of_order", "wrong_pushes", "stored_twice"}
}

// set writes the figures into the report.
func (f Figures) set(r *report.Report) {
	r.Set("sent", float64(f.Sent))
	r.Set("acked", float64(f.Acked))
	r.Set("unacked", float64(f.Unacked))
	r.Set("wrong_answers", float64(f.WrongAnswers))
	r.Set("error_answers", float64(f.ErrorAnswers))
	for code, n := range f.ErrorsByCode {
		r.Set("error_answers_"+code, float64(n))
	}
	r.Set("unanswered", float64(f.Unanswered))
	r.Set("write_failed", float64(f.WriteFailed))
	r.Set("client_backlog_dropped", float64(f.Dropped))
	// send_errors keeps its older meaning for comparisons with earlier reports: sends that ended in
	// an error of any kind the client saw (an error answer or a failed write).
	r.Set("send_errors", float64(f.ErrorAnswers+f.WriteFailed))
	r.Set("stored_after_error", float64(f.StoredAfterError))
	r.Set("stored_unanswered", float64(f.StoredUnanswered))
	r.Set("lost", float64(f.Lost))
	r.Set("lost_messages", float64(f.LostMessages))
	r.Set("push_missing", float64(f.PushMissing))
	r.Set("dup", float64(f.Dup))
	r.Set("out_of_order", float64(f.OutOfOrder))
	r.Set("wrong_pushes", float64(f.WrongPushes))
	r.Set("stored_twice", float64(f.StoredTwice))
	r.Set("unverified", float64(f.Unverified))
	r.Set("deliveries", float64(f.Deliveries))
	r.Set("p50_ms", f.Latency.P50MS)
	r.Set("p95_ms", f.Latency.P95MS)
	r.Set("p99_ms", f.Latency.P99MS)
	r.Set("max_ms", f.Latency.MaxMS)
	r.Set("ack_p50_ms", f.AckLatency.P50MS)
	r.Set("ack_p99_ms", f.AckLatency.P99MS)
	// With no error answer both are 0, and that is the measured truth: no send waited for an error.
	// "Every send not stored is answered with an explicit error within 2 s" is then
	// unanswered==0 and time_to_error_max_ms<=2000.
	r.Set("time_to_error_p99_ms", f.TimeToError.P99MS)
	r.Set("time_to_error_max_ms", f.TimeToError.MaxMS)
	r.Details["latency"] = f.Latency
	r.Details["ack_latency"] = f.AckLatency
	r.Details["time_to_error"] = f.TimeToError
	r.Details["error_answers"] = f.ErrorsByCode
	r.Details["wrong_answers"] = map[string]any{"by_kind": f.WrongByKind, "samples": f.WrongSamples}
	r.Details["answers"] = map[string]int{"extra": f.ExtraAnswers, "stray": f.StrayAnswers, "foreign_pushes": f.ForeignPushes}
}
