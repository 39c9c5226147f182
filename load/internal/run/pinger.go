package run

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// pingJitter spreads each connection's pings by ±10 % of the interval, so connections that started
// together drift apart instead of pinging in lockstep.
const pingJitter = 0.1

// pingSchedule decides when each of n connections sends its JSON ping: first at a uniformly random
// offset within one interval (n connections spread over the interval), then every interval
// ±pingJitter. It also counts rounds: round k is complete once every connection sent its k-th ping
// (or died, which it will never do).
type pingSchedule struct {
	interval time.Duration
	rounds   int
	rnd      *rand.Rand
	h        pingHeap
	sent     []int
	done     []int // done[k-1]: connections through with round k
	next     int   // the next round to complete, 1-based
}

func newPingSchedule(n int, interval time.Duration, rounds int, start time.Time, rnd *rand.Rand) *pingSchedule {
	s := &pingSchedule{interval: interval, rounds: rounds, rnd: rnd, sent: make([]int, n), done: make([]int, rounds), next: 1}
	s.h = make(pingHeap, n)
	for i := range n {
		s.h[i] = pingAt{at: start.Add(time.Duration(rnd.Float64() * float64(interval))), conn: i}
	}
	heap.Init(&s.h)
	return s
}

// due pops the connections whose ping is due by now. The caller pings each and calls record.
func (s *pingSchedule) due(now time.Time, buf []int) []int {
	buf = buf[:0]
	for len(s.h) > 0 && !s.h[0].at.After(now) {
		buf = append(buf, heap.Pop(&s.h).(pingAt).conn)
	}
	return buf
}

// record notes that connection i pinged (alive) or is gone (not alive: never scheduled again), and
// returns the rounds that became complete, in order.
func (s *pingSchedule) record(i int, alive bool, now time.Time) []int {
	if alive {
		s.sent[i]++
		if k := s.sent[i]; k <= s.rounds {
			s.done[k-1]++
		}
		j := 1 + pingJitter*(2*s.rnd.Float64()-1)
		heap.Push(&s.h, pingAt{at: now.Add(time.Duration(j * float64(s.interval))), conn: i})
	} else {
		for k := s.sent[i] + 1; k <= s.rounds; k++ {
			s.done[k-1]++
		}
		s.sent[i] = s.rounds + 1 // counted through every round: never again
	}
	var out []int
	for s.next <= s.rounds && s.done[s.next-1] == len(s.sent) {
		out = append(out, s.next)
		s.next++
	}
	return out
}

type pingAt struct {
	at   time.Time
	conn int
}

// pingHeap is a min-heap of the next ping times.
type pingHeap []pingAt

func (h pingHeap) Len() int           { return len(h) }
func (h pingHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h pingHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pingHeap) Push(x any)        { *h = append(*h, x.(pingAt)) }
func (h *pingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
