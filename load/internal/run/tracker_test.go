package run

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/report"
)

// fakeClock is a clock the test moves by hand, so latencies are exact.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func resultFrame(i int, m events.Message) events.Frame {
	d, _ := json.Marshal(events.MessageResponse{Message: m})
	return events.Frame{Type: events.FrameResult, ID: strconv.Itoa(i), Data: d}
}

func errorFrame(id string, code events.Code) events.Frame {
	d, _ := json.Marshal(events.ErrorFrame{Code: code, Message: "refused"})
	return events.Frame{Type: events.FrameError, ID: id, Data: d}
}

func pushFrame(m events.Message) events.Frame {
	d, _ := json.Marshal(events.MessageFact{Message: m})
	return events.Frame{Type: events.FrameMessage, Data: d}
}

// TestTrackerFigures feeds one scripted run into the tracker, one case per figure: a correct ack, a
// wrong answer of each kind, error answers, an unanswered send, a lost one, an out-of-order push, a
// duplicate, and checks every figure.
func TestTrackerFigures(t *testing.T) {
	const A, B = "conv-a", "conv-b"
	clk := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	tr := newTracker("r1.n", []string{A, B}, [][]int{{0, 1, 2}, {3, 4}})
	tr.clock, tr.start = clk.now, clk.now()

	// Sends: index -> (conversation, sender).
	plan := []struct{ conv, sender int }{
		{0, 0}, // 0 acked, delivered to everyone
		{0, 1}, // 1 result names send 0's client_msg_id: wrong
		{1, 3}, // 2 error unavailable after 1.5 s, stored anyway (and stored twice)
		{1, 4}, // 3 error rate_limited after 0.3 s, answered twice, not stored
		{0, 0}, // 4 never answered, stored
		{0, 2}, // 5 acked at seq 3, where history holds send 4: wrong
		{1, 3}, // 6 acked at seq 9, never stored: lost
		{0, 0}, // 7 acked, delivered to everyone (to user 2 before send 0: out of order)
		{1, 4}, // 8 write failed
		{0, 1}, // 9 dropped by the client's own queue
		{1, 3}, // 10 result names conversation A: wrong
		{1, 4}, // 11 two results naming different messages: wrong
		{0, 1}, // 12 acked, user 2 got no push: push_missing
	}
	for k, p := range plan {
		if i, id := tr.newMsg(p.conv, p.sender); i != k || id != "r1.n."+strconv.Itoa(k) {
			t.Fatalf("newMsg %d = %d %q", k, i, id)
		}
	}
	msg := func(i int, conv string, seq int64, id string) events.Message {
		return events.Message{ID: id, ConversationID: conv, Seq: seq, ClientMsgID: tr.clientMsgID(i)}
	}
	m0, m7, m12 := msg(0, A, 1, "m0"), msg(7, A, 4, "m7"), msg(12, A, 5, "m12")

	clk.advance(10 * time.Millisecond)
	tr.onFrame(0, resultFrame(0, m0))
	tr.onFrame(1, resultFrame(1, msg(0, A, 2, "m1")))
	tr.onFrame(0, resultFrame(5, msg(5, A, 3, "m5")))
	tr.onFrame(3, resultFrame(6, msg(6, B, 9, "m6")))
	tr.onFrame(0, resultFrame(7, m7))
	tr.onFrame(3, resultFrame(10, msg(10, A, 3, "m10")))
	tr.onFrame(4, resultFrame(11, msg(11, B, 2, "m11a")))
	tr.onFrame(4, resultFrame(11, msg(11, B, 2, "m11b")))
	tr.onFrame(1, resultFrame(12, m12))
	tr.writeFailed(8)
	tr.dropped(9)
	tr.onFrame(0, events.Frame{Type: events.FrameResult, ID: "x"})
	tr.onFrame(0, errorFrame("", events.CodeInvalidArgument)) // answers no frame we sent

	clk.advance(290 * time.Millisecond) // 0.3 s
	tr.onFrame(4, errorFrame("3", events.CodeRateLimited))
	tr.onFrame(4, errorFrame("3", events.CodeRateLimited))
	clk.advance(1200 * time.Millisecond) // 1.5 s
	tr.onFrame(3, errorFrame("2", events.CodeUnavailable))

	tr.onFrame(0, pushFrame(m0)) // the sender's own device: neither a delivery nor missing
	tr.onFrame(1, pushFrame(m0))
	tr.onFrame(1, pushFrame(m0)) // duplicate
	tr.onFrame(1, pushFrame(m7))
	tr.onFrame(2, pushFrame(m7))
	tr.onFrame(2, pushFrame(m0)) // seq 1 after seq 4: out of order
	tr.onFrame(0, pushFrame(m12))
	tr.onFrame(4, pushFrame(msg(2, A, 1, "m2")))                                                 // send 2 was to B: wrong push
	tr.onFrame(4, pushFrame(events.Message{ID: "z", ConversationID: B, ClientMsgID: "other.1"})) // not ours

	if tr.settled() {
		t.Fatal("settled with send 4 unanswered")
	}
	hist := []history{
		{msgs: []events.Message{m0, msg(1, A, 2, "m1"), msg(4, A, 3, "m4"), m7, m12}},
		{msgs: []events.Message{msg(2, B, 1, "m2"), msg(11, B, 2, "m11a"), msg(10, B, 3, "m10"), msg(2, B, 4, "m2bis")}},
	}
	f := tr.settle(hist)

	want := Figures{
		Sent: 13, Acked: 4, Unacked: 9, // 0, 6, 7, 12 (6 is acked and lost)
		WrongAnswers: 4, ErrorAnswers: 2, Unanswered: 1, WriteFailed: 1, Dropped: 1,
		StoredAfterError: 1, StoredUnanswered: 1, LostMessages: 1, Lost: 1, PushMissing: 1,
		Dup: 1, OutOfOrder: 1, WrongPushes: 1, StoredTwice: 1,
		ExtraAnswers: 2, StrayAnswers: 2, ForeignPushes: 1, Deliveries: 5,
	}
	got := f
	got.WrongByKind, got.WrongSamples, got.ErrorsByCode = nil, nil, nil // checked below
	got.Latency, got.AckLatency, got.TimeToError = want.Latency, want.AckLatency, want.TimeToError
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("figures\n got %+v\nwant %+v", got, want)
	}
	for kind, n := range map[string]int{"client_msg_id": 1, "history": 1, "conversation": 1, "conflicting": 1} {
		if f.WrongByKind[kind] != n {
			t.Errorf("wrong answers %q = %d, want %d (%v)", kind, f.WrongByKind[kind], n, f.WrongByKind)
		}
	}
	if len(f.WrongSamples) != 4 {
		t.Errorf("samples %q", f.WrongSamples)
	}
	if f.ErrorsByCode["unavailable"] != 1 || f.ErrorsByCode["rate_limited"] != 1 || len(f.ErrorsByCode) != 2 {
		t.Errorf("errors by code %v", f.ErrorsByCode)
	}
	if f.TimeToError.Count != 2 || f.TimeToError.P99MS != 1500 || f.TimeToError.MaxMS != 1500 || f.TimeToError.MinMS != 300 {
		t.Errorf("time to error %+v", f.TimeToError)
	}
	if f.AckLatency.Count != 6 || f.AckLatency.MaxMS != 10 { // the first result of 0, 5, 6, 7, 11, 12
		t.Errorf("ack latency %+v", f.AckLatency)
	}

	r := report.New("chat", "r1", clk.now())
	f.set(r)
	for name, v := range map[string]float64{
		"wrong_answers": 4, "out_of_order": 1, "error_answers_unavailable": 1, "error_answers_rate_limited": 1,
		"unanswered": 1, "stored_after_error": 1, "lost": 1, "lost_messages": 1, "dup": 1, "send_errors": 3,
		"time_to_error_p99_ms": 1500, "time_to_error_max_ms": 1500, "acked": 4, "client_backlog_dropped": 1,
	} {
		if got, ok := r.Metrics[name]; !ok || got != v {
			t.Errorf("metric %s = %v (%v), want %v", name, got, ok, v)
		}
	}
	if bad := r.CheckInvariants(Invariants()); len(bad) != len(Invariants()) {
		t.Errorf("violations %v, want every invariant", bad)
	}
}

// TestTrackerCleanRun: a run where everything is right has every invariant at zero, settles, and
// reports a time to error of 0 (no send waited for an error).
func TestTrackerCleanRun(t *testing.T) {
	tr := newTracker("r2.n", []string{"c"}, [][]int{{0, 1}})
	for k := range 3 {
		i, id := tr.newMsg(0, k%2)
		m := events.Message{ID: "m" + strconv.Itoa(i), ConversationID: "c", Seq: int64(i + 1), ClientMsgID: id}
		tr.onFrame(k%2, resultFrame(i, m))
		tr.onFrame(0, pushFrame(m))
		tr.onFrame(1, pushFrame(m))
	}
	if !tr.settled() {
		t.Fatal("not settled")
	}
	var hist []events.Message
	for i := range 3 {
		hist = append(hist, events.Message{ID: "m" + strconv.Itoa(i), ConversationID: "c", Seq: int64(i + 1), ClientMsgID: tr.clientMsgID(i)})
	}
	f := tr.settle([]history{{msgs: hist}})
	r := report.New("chat", "r2", time.Now())
	f.set(r)
	if bad := r.CheckInvariants(Invariants()); len(bad) != 0 {
		t.Fatalf("violations %v in %+v", bad, f)
	}
	if f.Acked != 3 || f.Deliveries != 3 || f.PushMissing != 0 {
		t.Fatalf("%+v", f)
	}
	if v, ok := r.Metrics["time_to_error_max_ms"]; !ok || v != 0 {
		t.Fatalf("time to error %v %v without errors", v, ok)
	}
}

// TestTrackerUnreadableHistory: acked sends of a conversation whose history could not be read are
// unverified, never lost.
func TestTrackerUnreadableHistory(t *testing.T) {
	tr := newTracker("r3.n", []string{"c"}, [][]int{{0, 1}})
	i, id := tr.newMsg(0, 0)
	tr.result(i, events.Message{ID: "m", ConversationID: "c", Seq: 1, ClientMsgID: id})
	f := tr.settle([]history{{err: errTest}})
	if f.Unverified != 1 || f.Lost != 0 || f.LostMessages != 0 || f.Acked != 1 {
		t.Fatalf("%+v", f)
	}
	if historyError([]history{{err: errTest}}) == nil {
		t.Fatal("unreadable history not an error")
	}
}

var errTest = errors.New("history unavailable")

func TestMsgPrefix(t *testing.T) {
	// Two invocations with the same -run never share a client_msg_id (a rerun would otherwise be
	// answered with the previous run's messages), and the longest id stays within API.md's 64 chars.
	a := msgPrefix("abcdefghijkl", time.Unix(0, 1))
	b := msgPrefix("abcdefghijkl", time.Unix(0, 2))
	if a == b {
		t.Fatal("same prefix")
	}
	if n := len(msgPrefix("abcdefghijkl", time.Now()) + ".99999999"); n > 64 {
		t.Fatalf("client_msg_id of %d chars", n)
	}
}
