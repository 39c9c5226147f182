package wire

import (
	"reflect"
	"testing"
	"time"

	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/realtime"
)

func envOf(m map[string]string) boot.Config { return boot.Env(func(k string) string { return m[k] }) }

// realtime's settings keep their keys, leave unset ones zero for realtime's defaults, and refuse
// malformed ones.
func TestRealtimeConfig(t *testing.T) {
	def, err := realtimeConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := realtime.ParseICEServers(realtime.DefaultICEServers)
	if def.RedisPrefix != "parley:" || def.Topic != "" || def.TURNTTL != 0 || def.MaxPresenceIDs != 0 ||
		len(def.TURNSecret) != 0 || !reflect.DeepEqual(def.ICEServers, want) {
		t.Errorf("unset: %+v (zero fields take realtime's defaults)", def)
	}
	set, err := realtimeConfig(envOf(map[string]string{"REDIS_PREFIX": "t:", "DELIVERY_TOPIC": "d", "TURN_SECRET": "s",
		"TURN_TTL": "1h", "CALL_RING_TIMEOUT": "5s", "CALL_MAX_DURATION": "2h", "PRESENCE_MAX_IDS": "7",
		"TYPING_MAX_RECIPIENTS": "9", "ICE_SERVERS": "stun:a.example:3478"}))
	if err != nil {
		t.Fatal(err)
	}
	if set.RedisPrefix != "t:" || set.Topic != "d" || string(set.TURNSecret) != "s" || set.TURNTTL != time.Hour ||
		set.RingTimeout != 5*time.Second || set.MaxCallDuration != 2*time.Hour || set.MaxPresenceIDs != 7 ||
		set.MaxTypingRecipients != 9 || len(set.ICEServers) != 1 {
		t.Errorf("set: %+v", set)
	}
	for _, bad := range []map[string]string{{"TURN_TTL": "soon"}, {"PRESENCE_MAX_IDS": "many"}, {"ICE_SERVERS": "[{"}} {
		if _, err := realtimeConfig(envOf(bad)); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
