package edge

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/polltest"
)

// fakeTransport records what a writer writes. With gate set, each writeFrames first waits for a
// token from it.
type fakeTransport struct {
	gate chan struct{}

	mu     sync.Mutex
	writes [][]string // the frames of each writeFrames call
	pings  int
	closes []int
}

func (f *fakeTransport) writeFrames(frames [][]byte, ping bool, _ time.Duration) error {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var w []string
	for _, fr := range frames {
		w = append(w, string(fr))
	}
	f.writes = append(f.writes, w)
	if ping {
		f.pings++
	}
	return nil
}

func (f *fakeTransport) writeClose(code int, _ string, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes = append(f.closes, code)
}

func (f *fakeTransport) abort() {}

// snapshot returns the writes so far, one string per call ("a b" for frames a and b).
func (f *fakeTransport) snapshot() (writes []string, closes []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.writes {
		writes = append(writes, strings.Join(w, " "))
	}
	return writes, append([]int(nil), f.closes...)
}

// TestWriterCoalescesWhileWriting: what is queued while a write is under way goes out in one write.
func TestWriterCoalescesWhileWriting(t *testing.T) {
	ft := &fakeTransport{gate: make(chan struct{})}
	w := &writer{t: ft, limit: 1 << 20, timeout: time.Second}
	w.enqueue([]byte("a"), disconnectSlow)
	polltest.Until(t, 5*time.Second, "the writer to take a", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.queued == 0
	})
	for _, f := range []string{"b", "c", "d"} {
		if r, _ := w.enqueue([]byte(f), disconnectSlow); r != enqueued {
			t.Fatalf("%s: %v", f, r)
		}
	}
	close(ft.gate)
	polltest.Until(t, 5*time.Second, "the writer goroutine to end", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return !w.writing
	})
	if ws, _ := ft.snapshot(); strings.Join(ws, "|") != "a|b c d" {
		t.Fatalf("writes %q; want a, then b c d in one write", ws)
	}
}

func TestWriterBoundClosesSlowConsumer(t *testing.T) {
	ft := &fakeTransport{gate: make(chan struct{}, 1)}
	w := &writer{t: ft, limit: 10, timeout: time.Second}
	if r, _ := w.enqueue([]byte("first"), disconnectSlow); r != enqueued {
		t.Fatalf("first frame: %v", r)
	}
	polltest.Until(t, 5*time.Second, "the writer to take the first frame", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.queued == 0
	})
	if r, _ := w.enqueue([]byte("123456"), disconnectSlow); r != enqueued {
		t.Fatalf("within the bound: %v", r)
	}
	if r, queued := w.enqueue([]byte("abcdef"), disconnectSlow); r != overflowed || queued != 6 {
		t.Fatalf("over the bound: %v, %d bytes dropped", r, queued)
	}
	if r, _ := w.enqueue([]byte("x"), disconnectSlow); r != notQueued {
		t.Fatalf("after the overflow: %v", r)
	}
	if w.close(disconnectRestart) {
		t.Fatal("a second close counted")
	}
	ft.gate <- struct{}{}
	polltest.Until(t, 5*time.Second, "the close frame", func() bool { _, cs := ft.snapshot(); return len(cs) == 1 })
	ws, cs := ft.snapshot()
	if strings.Join(ws, "|") != "first" || cs[0] != events.CloseSlowConsumer {
		t.Fatalf("writes %q, closes %v; want the first frame, then 4009 without the dropped queue", ws, cs)
	}
}

// fakeConn is a connection on a fake transport, with an edge that holds only a config.
func fakeConn(cfg Config) (*conn, *fakeTransport) {
	ft := &fakeTransport{}
	e := &Edge{cfg: cfg}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{edge: e, ctx: ctx, cancel: cancel, w: writer{t: ft, limit: cfg.OutboundQueueBytes, timeout: time.Second}}
	return c, ft
}

func countWrites(ft *fakeTransport, frame string) int {
	ws, _ := ft.snapshot()
	n := 0
	for _, w := range ws {
		for _, f := range strings.Fields(w) {
			if f == frame {
				n++
			}
		}
	}
	return n
}

// TestAckAndResendOnFakeTransport: an acked message push is not resent; an unacked one is resent
// after ResendTimeout, ResendAttempts times, then given up; a repeat is not pushed again.
func TestAckAndResendOnFakeTransport(t *testing.T) {
	c, ft := fakeConn(Config{ResendTimeout: 40 * time.Millisecond, ResendAttempts: 2, OutboundQueueBytes: 1 << 20})
	c.push([]byte("acked"), "c1", 1)
	c.push([]byte("lazy"), "c2", 1)
	c.push([]byte("lazy"), "c2", 1) // a repeat
	c.push([]byte("typing"), "", 0) // not a message: never remembered
	c.ack("c1", 1)
	polltest.Until(t, 5*time.Second, "two resends", func() bool { return countWrites(ft, "lazy") == 3 })
	time.Sleep(150 * time.Millisecond)
	if n := countWrites(ft, "lazy"); n != 3 {
		t.Fatalf("the unacked push was written %d times; want 1 + ResendAttempts", n)
	}
	if a, ty := countWrites(ft, "acked"), countWrites(ft, "typing"); a != 1 || ty != 1 {
		t.Fatalf("acked push written %d times, typing %d; want once each", a, ty)
	}
	if r := c.edge.stats.resent.Load(); r != 2 {
		t.Fatalf("%d resends counted", r)
	}
	c.mu.Lock()
	left, timer := len(c.unacked), c.resendTimer
	c.mu.Unlock()
	if left != 0 || timer != nil {
		t.Fatalf("%d pushes still remembered (timer %v) after giving up", left, timer != nil)
	}
}

// TestPushAfterCloseForgotten: once the connection is closing, a push is neither written nor
// remembered for resending, and the close frame goes out once.
func TestPushAfterCloseForgotten(t *testing.T) {
	c, ft := fakeConn(Config{ResendTimeout: time.Hour, ResendAttempts: 2, OutboundQueueBytes: 1 << 20})
	c.closeWith(disconnectRevoked)
	c.closeWith(disconnectBanned)
	c.push([]byte("late"), "c1", 1)
	polltest.Until(t, 5*time.Second, "the close frame", func() bool { _, cs := ft.snapshot(); return len(cs) == 1 })
	c.mu.Lock()
	left := len(c.unacked)
	c.mu.Unlock()
	if ws, cs := ft.snapshot(); len(ws) != 0 || left != 0 || cs[0] != events.CloseUnauthenticated {
		t.Fatalf("writes %q, remembered %d, closes %v", ws, left, cs)
	}
	if c.ctx.Err() == nil {
		t.Fatal("the connection's context outlived the close")
	}
}
