package send_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/send"
)

// BenchmarkSend measures the whole send path (validation, the one-statement commit with its outbox
// row, the publish to a recording Publisher, the outbox mark) with 64 concurrent clients over 500
// conversations. It reports msg/s and per-message p50/p99 latency.
//
//	go test ./send -run '^$' -bench Send -benchtime 20000x
func BenchmarkSend(b *testing.B) {
	h, _, _ := newSend(b, send.Config{FaultSkipPublish: benchSkipPublish})
	pool := poolOf(b, h)
	users := mt.Users(b, pool, 300)
	convs := make([]string, 500)
	for i := range convs {
		convs[i] = mt.Group(b, pool, users[i%300], users[(i+1)%300], users[(i+2)%300])
	}
	const clients = 64
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				conv := convs[int(i)%len(convs)]
				sender := users[(int(i)%len(convs))%300]
				t0 := time.Now()
				_, _, err := h.Send(context.Background(), events.SendCommand{UserID: sender, ConversationID: conv,
					SendMessage: events.SendMessage{ClientMsgID: fmt.Sprintf("b-%d", i), Type: "text", Text: "benchmark message"}})
				lat[c] = append(lat[c], time.Since(t0))
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}

// benchSkipPublish measures the commit alone (no publish, no outbox mark) when set.
const benchSkipPublish = false
