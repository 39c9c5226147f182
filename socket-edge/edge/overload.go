package edge

import (
	"context"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-im/parley/events"
)

// Overload is answered at once, never by a silent wait. A send, read or revoke frame is admitted
// only while
//   - its connection has fewer than MaxPendingPerConn frames awaiting an answer (else error
//     rate_limited: this client is pipelining more than the path can take; wait for answers),
//   - the instance has fewer than MaxPendingPerEdge (else error unavailable: this instance is
//     overloaded; retry with backoff, maybe elsewhere),
//   - for sends, fewer sends are in flight than the adaptive limit (SendLimitMin; else unavailable:
//     the path behind this instance is saturated, and one more send would only wait in its queues),
//   - for sends, message deliveries are not arriving more than ShedDeliveryLag after their message
//     was stored (else unavailable: the delivery path, which also carries the answers, is behind),
//   - and, for sends, the recent answer latency is not above ShedAnswerLatency when that is enabled
//     (else unavailable: the answers already arrive after the deadline).
// An admitted frame is answered by its result or rejection, or with unavailable when its publish
// fails (bounded by the command's deadline) or after CommandTimeout.

// shedReason says why a frame was not admitted.
type shedReason uint8

const (
	admitted    shedReason = iota
	shedConn               // the connection's cap of pending frames
	shedEdge               // the instance's cap of pending frames
	shedLatency            // recent answer latency above ShedAnswerLatency
	shedLag                // delivery lag above ShedDeliveryLag
	shedLimit              // sends in flight at the adaptive limit
	numShedReasons
)

var shedLabels = [numShedReasons]string{admitted: "", shedConn: "conn_pending", shedEdge: "edge_pending",
	shedLatency: "answer_latency", shedLag: "delivery_lag", shedLimit: "send_limit"}

// unavailableCause says why a frame was answered unavailable.
type unavailableCause uint8

const (
	causeTimeout  unavailableCause = iota // no answer within CommandTimeout
	causePublish                          // the broker did not take the command before its deadline
	causeRejected                         // a function refused it with code unavailable (e.g. deadline passed)
	causeShed                             // not admitted: instance cap or answer latency
	numUnavailableCauses
)

var unavailableLabels = [numUnavailableCauses]string{causeTimeout: "timeout", causePublish: "publish_failed",
	causeRejected: "rejected", causeShed: "shed"}

// answerOutcome is how a pending frame was answered (the answer latency histogram's label).
type answerOutcome uint8

const (
	outcomeResult answerOutcome = iota
	outcomeRejected
	outcomeTimeout
	outcomePublishFailed
	numAnswerOutcomes
)

var outcomeLabels = [numAnswerOutcomes]string{outcomeResult: "result", outcomeRejected: "rejected",
	outcomeTimeout: "timeout", outcomePublishFailed: "publish_failed"}

// admit decides whether pc may be published and, if so, registers it as pending.
func (e *Edge) admit(pc *pendingCmd) shedReason {
	if pc.typ == events.TypeMessageSend {
		now := time.Now()
		if e.cfg.ShedDeliveryLag > 0 && e.lag.high(e.cfg.ShedDeliveryLag, now) {
			return shedLag
		}
		if e.cfg.ShedAnswerLatency > 0 && e.latency.high(e.cfg.ShedAnswerLatency, now) {
			return shedLatency
		}
		if e.sends != nil {
			p, ok := e.sends.TryAcquirePermit()
			if !ok {
				return shedLimit
			}
			pc.permit = p // before add: whoever takes pc from e.cmds releases it (answered)
		}
	}
	reason := e.cmds.add(pc, e.cfg.MaxPendingPerConn, e.cfg.MaxPendingPerEdge, e.cfg.CommandTimeout, e.expire)
	if reason != admitted {
		pc.releasePermit(false)
	}
	return reason
}

// newSendLimiter builds the adaptive limit on sends in flight. Why adaptive, and why a floor: a
// fixed cap is either so high that an overloaded path queues more sends than it can answer
// before their deadline (measured at twice the capacity with MaxPendingPerEdge 2000: 249 of ~550
// msg/s answered, p50 1.1 s, the rest refused after waiting), or so low that a slower deployment
// (more latency per hop, so more sends in flight at a healthy rate) sheds sends it could carry.
// The limit follows the concurrency the instance sees (up to five times it) and falls while
// answer times rise over their baseline; the floor keeps ordinary bursts from being refused.
func newSendLimiter(floor, ceiling int) adaptivelimiter.AdaptiveLimiter[any] {
	return adaptivelimiter.NewBuilder[any]().WithLimits(uint(floor), uint(ceiling), uint(floor)).Build()
}

// releasePermit gives pc's place under the send limit back, once: recorded (its answer time feeds
// the limit) when it was answered, dropped (no signal) when it was replaced or never published.
func (pc *pendingCmd) releasePermit(answered bool) {
	if pc.permit == nil {
		return
	}
	if answered {
		pc.permit.Record()
	} else {
		pc.permit.Drop()
	}
	pc.permit = nil
}

// shed answers a frame that was not admitted, at once.
func (e *Edge) shed(ctx context.Context, pc *pendingCmd, reason shedReason) {
	e.stats.shed[reason].Add(1)
	c := pc.c
	if reason == shedConn {
		// The client's own doing and bounded by its frame budget: counted, logged at debug only.
		e.log.DebugContext(ctx, "command shed", "reason", shedLabels[reason], "type", pc.typ, "correlation_id", pc.corr,
			"conn", c.id, "user", c.userID)
		c.sendError(pc.frameID, events.Errorf(events.CodeRateLimited,
			"too many frames awaiting an answer on this connection (at most %d); wait for answers, then retry (a send with the same client_msg_id)",
			e.cfg.MaxPendingPerConn))
		return
	}
	e.stats.unavailable[causeShed].Add(1)
	e.log.WarnContext(ctx, "command answered unavailable", "cause", unavailableLabels[causeShed], "reason", shedLabels[reason],
		"type", pc.typ, "event_id", pc.eventID, "correlation_id", pc.corr, "conn", c.id, "user", c.userID, "frame_id", pc.frameID,
		"pending", e.cmds.len(), "answer_latency_s", e.latency.value(), "delivery_lag_s", e.lag.value())
	c.sendError(pc.frameID, events.Errorf(events.CodeUnavailable,
		"overloaded: the command was not accepted; retry after a short backoff (a send with the same client_msg_id)"))
}

// expire runs on a pending frame's timer.
func (e *Edge) expire(pc *pendingCmd) {
	if e.cmds.takeIf(pc.corr, pc) {
		e.answerUnavailable(pc, causeTimeout, nil)
	}
}

// answerUnavailable answers a taken pending frame with unavailable: its publish failed or its answer
// did not come in time. The command may still apply, hence the advice to retry with the same
// client_msg_id (the send function de-duplicates on it).
func (e *Edge) answerUnavailable(pc *pendingCmd, cause unavailableCause, err error) {
	outcome := outcomeTimeout
	msg := "no answer in time; the command may still apply, retry with the same client_msg_id"
	if cause == causePublish {
		outcome = outcomePublishFailed
		msg = "cannot accept commands now; retry with the same client_msg_id"
	}
	waited := e.answered(pc, outcome)
	e.logUnavailable(pc, cause, waited, err)
	pc.c.sendError(pc.frameID, events.Errorf(events.CodeUnavailable, "%s", msg))
}

// logUnavailable counts an unavailable answer and logs it at WARN in the command's trace.
func (e *Edge) logUnavailable(pc *pendingCmd, cause unavailableCause, waited time.Duration, err error) {
	e.stats.unavailable[cause].Add(1)
	ctx := context.Background()
	if pc.span.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, pc.span)
	}
	args := []any{"cause", unavailableLabels[cause], "type", pc.typ, "event_id", pc.eventID, "correlation_id", pc.corr,
		"conn", pc.c.id, "user", pc.c.userID, "frame_id", pc.frameID, "waited", waited}
	if err != nil {
		args = append(args, "err", err)
	}
	e.log.WarnContext(ctx, "command answered unavailable", args...)
}

// answered records a pending frame's answer: the latency histogram and, for sends, the overload
// signal. It returns how long the frame waited.
func (e *Edge) answered(pc *pendingCmd, outcome answerOutcome) time.Duration {
	now := time.Now()
	waited := now.Sub(pc.start)
	if outcome == outcomeTimeout {
		waited = e.cfg.CommandTimeout // the timer's own lateness is not the path's
	}
	e.metrics.recordAnswer(pc.typ, outcome, waited)
	// A publish failure says nothing about the path's answer time; a timeout does (it was that slow).
	pc.releasePermit(outcome != outcomePublishFailed)
	if pc.typ == events.TypeMessageSend {
		e.latency.observe(waited, now)
	}
	return waited
}

// latencyAlpha weighs one answer in the mean: about the last ten answers count, so one slow answer
// cannot trip shedding, a run of them does within a few answers.
const latencyAlpha = 0.2

// latencyFresh: a mean without a new answer for this long no longer sheds. Shedding stops the
// answers that feed the mean, so this is also how often, at most, an overloaded edge lets sends
// through again to probe whether the path recovered.
const latencyFresh = time.Second

// answerLatency is a cheap overload signal: the exponentially weighted mean of how long sends waited
// for their answer (a timeout counts as CommandTimeout). It starts at zero and is never reset.
type answerLatency struct {
	mu   sync.Mutex
	mean float64 // seconds
	at   time.Time
	// Observations in the current and the previous latencyFresh window: a mean is trusted only with
	// latencyMinSamples of them, so one slow outlier (the first delivery after a start, with cold
	// connections) cannot trip shedding on an idle instance.
	window    time.Time
	cur, prev int
}

// latencyMinSamples: observations within about the last two seconds a mean needs to shed.
const latencyMinSamples = 5

func (l *answerLatency) observe(d time.Duration, now time.Time) {
	l.mu.Lock()
	l.mean += latencyAlpha * (d.Seconds() - l.mean)
	l.at = now
	switch since := now.Sub(l.window); {
	case since >= 2*latencyFresh:
		l.window, l.cur, l.prev = now, 0, 0
	case since >= latencyFresh:
		l.window, l.cur, l.prev = now, 0, l.cur
	}
	l.cur++
	l.mu.Unlock()
}

// high reports whether the mean is above limit, fresh, and backed by enough recent observations.
func (l *answerLatency) high(limit time.Duration, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.at.IsZero() && now.Sub(l.at) < latencyFresh && l.mean > limit.Seconds() &&
		l.cur+l.prev >= latencyMinSamples
}

func (l *answerLatency) value() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mean
}
