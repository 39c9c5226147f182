package edge

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/events"
)

// transport is what a writer writes to: one WebSocket connection. Only the writer's goroutine calls
// writeFrames and writeClose; abort may be called from anywhere.
type transport interface {
	// writeFrames writes frames, one WebSocket message each, then a ping when ping is set, in one
	// coalesced write; every write step gets timeout.
	writeFrames(frames [][]byte, ping bool, timeout time.Duration) error
	// writeClose sends the close frame and drops the connection after closeGrace unless the
	// client's close reply ends it first.
	writeClose(code int, reason string, timeout time.Duration)
	// abort drops the connection at once; the read loop sees it and cleans up.
	abort()
}

// writer is a connection's outbound side: a byte-bounded queue of frames and the close that follows
// them. A writer goroutine runs only while there is something to write (an idle connection has no
// writer stack); it takes everything queued and writes it in one coalesced flush per round, and is
// the only one that writes data frames. Its own lock: the delivery path only ever takes this one.
type writer struct {
	t       transport
	limit   int           // queue bound in bytes (Config.OutboundQueueBytes)
	timeout time.Duration // per write (Config.WriteTimeout)

	mu        sync.Mutex
	queue     [][]byte // frames not yet taken by the writer; shared slices, never modified
	queued    int      // bytes in queue
	writing   bool     // a writer goroutine runs (stays true once the close frame is sent)
	pingDue   bool
	closing   bool // no more frames accepted; the close frame follows what is queued
	closeSent bool
	closeCode int
	// the close frame's reason
	closeReason string
}

// enqueueResult says what enqueue did with a frame.
type enqueueResult uint8

const (
	enqueued   enqueueResult = iota
	notQueued                // the writer is closing
	overflowed               // the frame would pass the bound: the queue was dropped and the close started
)

// enqueue queues one frame without blocking. Over the bound it drops the queue and starts closing
// for overflow (queued is what was dropped).
func (w *writer) enqueue(frame []byte, overflow events.Disconnect) (r enqueueResult, queued int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return notQueued, 0
	}
	if w.queued+len(frame) > w.limit {
		queued = w.queued
		w.queue, w.queued = nil, 0
		w.startCloseLocked(overflow)
		return overflowed, queued
	}
	w.queue = append(w.queue, frame)
	w.queued += len(frame)
	w.kickLocked()
	return enqueued, 0
}

// close starts closing for d after the frames already queued; only the first call (close, enqueue's
// overflow) counts, and it reports whether this was it.
func (w *writer) close(d events.Disconnect) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.startCloseLocked(d)
}

func (w *writer) startCloseLocked(d events.Disconnect) bool {
	if w.closing {
		return false
	}
	w.closing, w.closeCode, w.closeReason = true, d.Code, d.Reason
	w.kickLocked()
	return true
}

// ping has a ping written, unless the writer is closing (then it reports false).
func (w *writer) ping() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return false
	}
	w.pingDue = true
	w.kickLocked()
	return true
}

func (w *writer) isClosing() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closing
}

// stop marks the writer closing without a close frame of its own: the client closed, the network
// failed, or (closeSent) the close frame went out already. It reports whether it was closing before.
func (w *writer) stop(closeSent bool) (wasClosing bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wasClosing = w.closing
	w.closing = true
	if closeSent {
		w.closeSent = true
	}
	return wasClosing
}

// drop ends the writer for good: closing, and nothing queued is written.
func (w *writer) drop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closing = true
	w.queue, w.queued = nil, 0
}

func (w *writer) kickLocked() {
	if !w.writing {
		w.writing = true
		go w.loop()
	}
}

// loop writes everything queued in one coalesced flush per round, then exits when nothing is left.
func (w *writer) loop() {
	for {
		w.mu.Lock()
		q := w.queue
		w.queue, w.queued = nil, 0
		ping := w.pingDue
		w.pingDue = false
		sendClose := w.closing && !w.closeSent
		if len(q) == 0 && !ping && !sendClose {
			w.writing = false
			w.mu.Unlock()
			return
		}
		if sendClose {
			w.closeSent = true
		}
		code, reason := w.closeCode, w.closeReason
		w.mu.Unlock()

		if len(q) > 0 || ping {
			if err := w.t.writeFrames(q, ping, w.timeout); err != nil {
				w.t.abort() // the read loop sees the error and cleans up; writing stays true
				return
			}
		}
		if sendClose {
			w.t.writeClose(code, reason, w.timeout)
			return
		}
	}
}

// wsTransport is the transport of a gorilla WebSocket over a coalescingConn.
type wsTransport struct {
	ws  *websocket.Conn
	raw *coalescingConn
}

func (t *wsTransport) writeFrames(frames [][]byte, ping bool, timeout time.Duration) error {
	// One WebSocket message per frame, all of them in one write syscall.
	t.raw.begin()
	var err error
	for _, f := range frames {
		if err = t.ws.WriteMessage(websocket.TextMessage, f); err != nil {
			break
		}
	}
	if ping && err == nil {
		err = t.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(timeout))
	}
	ferr := t.raw.flush(time.Now().Add(timeout))
	if err != nil {
		return err
	}
	return ferr
}

func (t *wsTransport) writeClose(code int, reason string, timeout time.Duration) {
	_ = t.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(timeout))
	// The read loop closes at once when the client answers; this bounds the wait.
	time.AfterFunc(closeGrace, func() { _ = t.raw.Close() })
}

func (t *wsTransport) abort() { _ = t.raw.Close() }
