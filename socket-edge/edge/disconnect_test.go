package edge

import (
	"testing"

	"github.com/parley-im/parley/events"
)

// TestDisconnectsLabelTheCloseMetric: every reason the edge closes for counts under one of the
// closes metric's existing labels, and says reconnect exactly for the codes protocol.md tells
// clients to reconnect after on their own.
func TestDisconnectsLabelTheCloseMetric(t *testing.T) {
	reconnect := map[int]bool{events.CloseServiceRestart: true, events.CloseRateLimited: true, events.CloseSlowConsumer: true}
	for _, d := range []events.Disconnect{disconnectNotJSON, disconnectNotText, disconnectSlow, disconnectRateLimited,
		disconnectRestart, disconnectExpired, disconnectRevoked, disconnectEnded, disconnectDeleted, disconnectBanned} {
		k := closeKindOf(d.Code)
		if k == closeOther || closeLabels[k][0] == "" {
			t.Errorf("%+v is counted as %q", d, closeLabels[k])
		}
		if d.Reconnect != reconnect[d.Code] {
			t.Errorf("%+v: Reconnect %v, want %v", d, d.Reconnect, reconnect[d.Code])
		}
		if d.Reason == "" || len(d.Reason) > 123 {
			t.Errorf("%+v: a close reason must be 1-123 bytes", d)
		}
	}
}
