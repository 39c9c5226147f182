package edge

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/events"
)

// Metrics, exported through the process's OTel meter (infra/otel serves them on GET /metrics):
//
//	parley_edge_connections                      gauge: open connections
//	parley_edge_pending_commands                 gauge: send/read/revoke frames awaiting their answer
//	parley_edge_send_answer_latency_mean_seconds gauge: the overload signal (overload.go)
//	parley_edge_pushes_total                     pushes queued to connections (one per recipient connection)
//	parley_edge_resends_total                    unacked message pushes sent again
//	parley_edge_acks_total / _acks_ignored_total acks applied / ignored over the ack budget
//	parley_edge_closes_total{code,reason}        connections ended, by close code (1006: lost, no close frame)
//	parley_edge_send_limit                       gauge: the adaptive limit on sends in flight (0: off)
//	parley_edge_commands_shed_total{reason}      frames refused at once: conn_pending, edge_pending,
//	                                             answer_latency, delivery_lag, send_limit
//	parley_edge_unavailable_total{cause}         unavailable answers: timeout, publish_failed, rejected, shed
//	parley_edge_command_answer_duration_seconds{type,outcome}  from publish to answer (histogram)
//	parley_edge_delivery_lag_seconds             now minus the delivered fact's time (histogram)
//
// The counters on hot paths (pushes, acks, closes) are plain atomics in stats, read only when scraped,
// so a push costs one atomic add and no attribute lookup.

// closeKind is a bucket of the closes counter.
type closeKind uint8

const (
	closeNormal closeKind = iota // the client sent a close frame
	closeLost                    // the connection ended without a close frame (network, missed heartbeats)
	closePolicy
	closeTooBig
	closeRestart
	closeUnauthenticated
	closeBanned
	closeRateLimited
	closeSlowConsumer
	closeOther
	numCloseKinds
)

var closeLabels = [numCloseKinds][2]string{
	closeNormal:          {"1000", "normal"},
	closeLost:            {"1006", "lost"},
	closePolicy:          {strconv.Itoa(events.ClosePolicy), "policy"},
	closeTooBig:          {strconv.Itoa(events.CloseTooBig), "too_big"},
	closeRestart:         {strconv.Itoa(events.CloseServiceRestart), "restart"},
	closeUnauthenticated: {strconv.Itoa(events.CloseUnauthenticated), "unauthenticated"},
	closeBanned:          {strconv.Itoa(events.CloseBanned), "banned"},
	closeRateLimited:     {strconv.Itoa(events.CloseRateLimited), "rate_limited"},
	closeSlowConsumer:    {strconv.Itoa(events.CloseSlowConsumer), "slow_consumer"},
	closeOther:           {"other", "other"},
}

// closeKindOf maps a close code the server sends to its bucket.
func closeKindOf(code int) closeKind {
	switch code {
	case events.CloseNormal:
		return closeNormal
	case events.ClosePolicy:
		return closePolicy
	case events.CloseTooBig:
		return closeTooBig
	case events.CloseServiceRestart:
		return closeRestart
	case events.CloseUnauthenticated:
		return closeUnauthenticated
	case events.CloseBanned:
		return closeBanned
	case events.CloseRateLimited:
		return closeRateLimited
	case events.CloseSlowConsumer:
		return closeSlowConsumer
	}
	return closeOther
}

// stats are the edge's counters, read by the metrics callback, tests and logs.
type stats struct {
	slowClosed  atomic.Int64
	rateClosed  atomic.Int64
	resent      atomic.Int64
	delivered   atomic.Int64
	connections atomic.Int64
	pushed      atomic.Int64
	acks        atomic.Int64
	acksIgnored atomic.Int64
	closes      [numCloseKinds]atomic.Int64
	shed        [numShedReasons]atomic.Int64
	unavailable [numUnavailableCauses]atomic.Int64

	// message deliveries without DeliveredEvent.ConversationID (an older fanout): their payload was
	// decoded for the position. Nonzero only during a rolling upgrade; then the fallback can go.
	positionDecoded atomic.Int64
}

// edgeMetrics are the synchronous instruments and their pre-built attribute sets.
type edgeMetrics struct {
	answer  metric.Float64Histogram
	lag     metric.Float64Histogram
	answerA map[string]*[numAnswerOutcomes]metric.RecordOption // by command type
}

// answerBuckets (seconds) are dense around CommandDeadline and CommandTimeout, where overload shows.
var answerBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10}

func (e *Edge) initMetrics(m metric.Meter) error {
	var err error
	mt := &e.metrics
	if mt.answer, err = m.Float64Histogram("parley_edge_command_answer_duration", metric.WithUnit("s"),
		metric.WithDescription("Time from publishing a send/read/revoke command to answering its frame, by command type and outcome (result, rejected, timeout, publish_failed)."),
		metric.WithExplicitBucketBoundaries(answerBuckets...)); err != nil {
		return err
	}
	if mt.lag, err = m.Float64Histogram("parley_edge_delivery_lag", metric.WithUnit("s"),
		metric.WithDescription("Time from a delivered fact's creation to its delivery at this edge."),
		metric.WithExplicitBucketBoundaries(answerBuckets...)); err != nil {
		return err
	}
	mt.answerA = map[string]*[numAnswerOutcomes]metric.RecordOption{}
	for _, typ := range []string{events.TypeMessageSend, events.TypeMessageRead, events.TypeMessageRevoke} {
		var opts [numAnswerOutcomes]metric.RecordOption
		for o := range numAnswerOutcomes {
			opts[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("type", typ), attribute.String("outcome", outcomeLabels[o])))
		}
		mt.answerA[typ] = &opts
	}

	conns, err1 := m.Int64ObservableGauge("parley_edge_connections", metric.WithDescription("Open WebSocket connections."))
	pending, err2 := m.Int64ObservableGauge("parley_edge_pending_commands", metric.WithDescription("Send/read/revoke frames awaiting their answer."))
	latency, err3 := m.Float64ObservableGauge("parley_edge_send_answer_latency_mean", metric.WithUnit("s"),
		metric.WithDescription("Exponentially weighted mean of the send answer latency; above the shed threshold new sends are refused."))
	pushes, err4 := m.Int64ObservableCounter("parley_edge_pushes", metric.WithDescription("Push frames queued to connections."))
	resends, err5 := m.Int64ObservableCounter("parley_edge_resends", metric.WithDescription("Unacked message pushes sent again."))
	acks, err6 := m.Int64ObservableCounter("parley_edge_acks", metric.WithDescription("Acks applied."))
	ignored, err7 := m.Int64ObservableCounter("parley_edge_acks_ignored", metric.WithDescription("Acks ignored because the connection was over its ack budget."))
	closes, err8 := m.Int64ObservableCounter("parley_edge_closes", metric.WithDescription("Connections ended, by close code and reason (1006 lost: no close frame)."))
	shed, err9 := m.Int64ObservableCounter("parley_edge_commands_shed", metric.WithDescription("Frames refused at once by admission control, by reason."))
	unavail, err10 := m.Int64ObservableCounter("parley_edge_unavailable", metric.WithDescription("Frames answered unavailable, by cause."))
	limit, err11 := m.Int64ObservableGauge("parley_edge_send_limit",
		metric.WithDescription("Adaptive limit on sends in flight on this instance (0: off); a send over it is refused at once."))
	for _, err := range []error{err1, err2, err3, err4, err5, err6, err7, err8, err9, err10, err11} {
		if err != nil {
			return err
		}
	}
	closeSets := make([]metric.ObserveOption, numCloseKinds)
	for k := range numCloseKinds {
		closeSets[k] = metric.WithAttributes(attribute.String("code", closeLabels[k][0]), attribute.String("reason", closeLabels[k][1]))
	}
	shedSets := make([]metric.ObserveOption, numShedReasons)
	for r := shedConn; r < numShedReasons; r++ {
		shedSets[r] = metric.WithAttributes(attribute.String("reason", shedLabels[r]))
	}
	causeSets := make([]metric.ObserveOption, numUnavailableCauses)
	for c := range numUnavailableCauses {
		causeSets[c] = metric.WithAttributes(attribute.String("cause", unavailableLabels[c]))
	}
	s := &e.stats
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(conns, s.connections.Load())
		o.ObserveInt64(pending, int64(e.cmds.len()))
		o.ObserveFloat64(latency, e.latency.value())
		if e.sends != nil {
			o.ObserveInt64(limit, int64(e.sends.Limit()))
		} else {
			o.ObserveInt64(limit, 0)
		}
		o.ObserveInt64(pushes, s.pushed.Load())
		o.ObserveInt64(resends, s.resent.Load())
		o.ObserveInt64(acks, s.acks.Load())
		o.ObserveInt64(ignored, s.acksIgnored.Load())
		for k := range numCloseKinds {
			o.ObserveInt64(closes, s.closes[k].Load(), closeSets[k])
		}
		for r := shedConn; r < numShedReasons; r++ {
			o.ObserveInt64(shed, s.shed[r].Load(), shedSets[r])
		}
		for c := range numUnavailableCauses {
			o.ObserveInt64(unavail, s.unavailable[c].Load(), causeSets[c])
		}
		return nil
	}, conns, pending, latency, pushes, resends, acks, ignored, closes, shed, unavail, limit)
	return err
}

func (m *edgeMetrics) recordAnswer(typ string, outcome answerOutcome, d time.Duration) {
	if opts := m.answerA[typ]; opts != nil {
		m.answer.Record(context.Background(), d.Seconds(), opts[outcome])
		return
	}
	m.answer.Record(context.Background(), d.Seconds(), metric.WithAttributes(attribute.String("type", typ),
		attribute.String("outcome", outcomeLabels[outcome])))
}

func (m *edgeMetrics) recordLag(d time.Duration) {
	m.lag.Record(context.Background(), max(d, 0).Seconds())
}
