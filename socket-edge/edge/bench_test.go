package edge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-im/parley/events"
)

// BenchmarkPushPath measures delivery event -> frames written to N connections -> read by real
// WebSocket clients over loopback: frames per second and the p99 latency from Deliver to the
// client's read. Each delivery is rendered once and queued to every recipient.
//
//	go test -run '^$' -bench PushPath -benchtime 20000x ./edge/
//
// "paced" offers 20,000 frames/s (the budget: p99 < 5 ms there); "flood" delivers as fast as it can
// (throughput; latency then is queueing, not the push path).
func BenchmarkPushPath(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("paced20k/conns=%d", n), func(b *testing.B) { benchPush(b, n, 20000) })
		b.Run(fmt.Sprintf("flood/conns=%d", n), func(b *testing.B) { benchPush(b, n, 0) })
	}
}

func benchPush(b *testing.B, n int, framesPerSec float64) {
	h := newHarness(b, func(c *Config) { c.OutboundQueueBytes = 4 << 20 })
	users := make([]string, n)
	conns := make([]*websocket.Conn, n)
	for i := range n {
		users[i] = "bench-" + strconv.Itoa(i)
		conns[i], _ = h.dial(users[i], "")
	}
	lat := make([][]time.Duration, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			var f struct {
				Data struct {
					State string `json:"state"`
				} `json:"data"`
			}
			for range b.N {
				_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
				_, msg, err := c.ReadMessage()
				if err != nil {
					b.Errorf("read: %v", err)
					return
				}
				_ = json.Unmarshal(msg, &f)
				sent, _ := strconv.ParseInt(f.Data.State, 10, 64)
				lat[i] = append(lat[i], time.Duration(time.Now().UnixNano()-sent))
			}
		})
	}
	b.ResetTimer()
	start := time.Now()
	var every time.Duration
	if framesPerSec > 0 {
		every = time.Duration(float64(time.Second) * float64(n) / framesPerSec)
	}
	for i := range b.N {
		if every > 0 {
			if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
				time.Sleep(d)
			}
		}
		data := `{"conversation_id":"c","user_id":"x","state":"` + strconv.FormatInt(time.Now().UnixNano(), 10) + `"}`
		h.e.Deliver(events.Delivery{Recipients: users, Event: events.DeliveredEvent{ID: "e", Type: events.TypeTypingUpdate,
			Data: json.RawMessage(data)}})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/el.Seconds(), "frames/s")
	b.ReportMetric(float64(b.N)/el.Seconds(), "deliveries/s")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
}
