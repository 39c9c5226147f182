package edge

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
)

// pendingCommands are the frames waiting for their answer, by correlation id. Its lock also guards
// every conn.pending, so both caps are checked and taken in one step.
type pendingCommands struct {
	mu sync.Mutex
	m  map[string]*pendingCmd
}

// pendingCmd is one frame awaiting its answer, with what its answer's metrics and log lines need.
type pendingCmd struct {
	c       *conn
	frameID string
	corr    string
	eventID string
	typ     string
	start   time.Time
	span    trace.SpanContext // the command's trace, for the log line of an unavailable answer
	timer   *time.Timer
	permit  adaptivelimiter.Permit // a send's place under the adaptive limit (nil: none held)
}

func newPendingCommands() *pendingCommands {
	return &pendingCommands{m: map[string]*pendingCmd{}}
}

// add registers pc unless its connection already has perConn frames waiting (shedConn) or the
// instance has perEdge (shedEdge), and arms its timeout. A frame id reused while the first frame
// still waits replaces it (both share one correlation id, so one answer is all they can get).
func (p *pendingCommands) add(pc *pendingCmd, perConn, perEdge int, timeout time.Duration, expire func(*pendingCmd)) shedReason {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.m[pc.corr]
	if old == nil {
		if int(pc.c.pending) >= perConn {
			return shedConn
		}
		if len(p.m) >= perEdge {
			return shedEdge
		}
	} else {
		p.removeLocked(old)
		old.releasePermit(false) // replaced: never answered on its own
	}
	p.m[pc.corr] = pc
	pc.c.pending++
	pc.timer = time.AfterFunc(timeout, func() { expire(pc) })
	return admitted
}

// take removes and returns the pending command, or nil when it was answered or timed out already.
func (p *pendingCommands) take(corr string) *pendingCmd {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.m[corr]
	if pc != nil {
		p.removeLocked(pc)
	}
	return pc
}

// takeIf removes pc if it is still the command waiting under its correlation id (a timer or a failed
// publish must not take the frame that replaced it).
func (p *pendingCommands) takeIf(corr string, pc *pendingCmd) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[corr] != pc {
		return false
	}
	p.removeLocked(pc)
	return true
}

func (p *pendingCommands) removeLocked(pc *pendingCmd) {
	delete(p.m, pc.corr)
	pc.c.pending--
	pc.timer.Stop()
}

// len is the number of frames awaiting their answer on this instance.
func (p *pendingCommands) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}

// answerResult answers the frame a fact correlates to, when that frame waits on this instance.
func (e *Edge) answerResult(ev events.DeliveredEvent) {
	if ev.CorrelationID == "" || !strings.HasPrefix(ev.CorrelationID, e.cfg.EdgeID+"/") {
		return
	}
	pc := e.cmds.take(ev.CorrelationID)
	if pc == nil {
		return
	}
	e.answered(pc, outcomeResult)
	data := ev.Data
	if ev.Type == events.TypeConversationRead {
		var r events.ConversationRead
		if json.Unmarshal(ev.Data, &r) == nil {
			data, _ = json.Marshal(events.ReadResult{ConversationID: r.ConversationID, ReadSeq: r.Seq})
		}
	}
	pc.c.enqueue(renderFrame(events.FrameResult, pc.frameID, data))
}

// answerRejection turns im.command.rejected into an error frame for the frame it answers.
func (e *Edge) answerRejection(ev events.DeliveredEvent) {
	var r events.CommandRejected
	if err := json.Unmarshal(ev.Data, &r); err != nil {
		return
	}
	corr := ev.CorrelationID
	if corr == "" {
		corr = r.CorrelationID
	}
	cr, err := events.ParseCorrelation(corr)
	if err != nil || cr.Edge != e.cfg.EdgeID {
		return
	}
	ee := &events.Error{Code: r.Code, Message: r.Message}
	if pc := e.cmds.take(corr); pc != nil {
		waited := e.answered(pc, outcomeRejected)
		if r.Code == events.CodeUnavailable {
			// Typically the command's deadline passed before a function got to it.
			e.logUnavailable(pc, causeRejected, waited, ee)
		}
		pc.c.sendError(pc.frameID, ee)
		return
	}
	// Typing and call frames wait for nothing, but their refusal still answers them.
	e.hub.each(r.UserID, func(c *conn) {
		if c.id == cr.Conn {
			c.sendError(cr.FrameID(), ee)
		}
	})
}
