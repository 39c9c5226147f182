package run

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/load/internal/api"
	"github.com/parley-im/parley/load/internal/report"
	"github.com/parley-im/parley/load/internal/stats"
)

// WorkerJob is what the parent sends a child on stdin: the connections it must open and hold.
type WorkerJob struct {
	Edges        []string      `json:"edges"`
	Tokens       []string      `json:"tokens"` // one per connection
	Sources      []string      `json:"sources"`
	Offset       int           `json:"offset"` // global index of the first connection (spreads edges and sources)
	Rate         float64       `json:"rate"`
	Hold         time.Duration `json:"hold"`
	PingInterval time.Duration `json:"ping_interval"` // 0: no client pings
	PingRounds   int           `json:"ping_rounds"`
}

// WorkerResult is a child's answer: a "connected" line once its ramp is over, a "round" line as each
// ping round completes (every connection sent its k-th ping and the pongs are in, or 5 s passed),
// then the final "done" line.
type WorkerResult struct {
	Phase       string         `json:"phase"`
	Round       int            `json:"round,omitempty"`
	Attempted   int            `json:"attempted"`
	Connected   int            `json:"connected"`
	PerEdge     []int          `json:"per_edge,omitempty"` // connected, by index in Edges
	ConnectUS   []int64        `json:"connect_us,omitempty"`
	PingsSent   int64          `json:"pings_sent"`
	Pongs       int64          `json:"pongs"`
	Disconnects int            `json:"disconnects"`
	CloseCodes  map[string]int `json:"close_codes,omitempty"`
	Errors      map[string]int `json:"errors,omitempty"`
}

// roundPongWait bounds how long a completed round waits for its pongs before it is reported: a
// connection that died after its ping never answers.
const roundPongWait = 5 * time.Second

// RunWorker is the child side: read the job from in, connect, report, hold with pings, report.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	var job WorkerJob
	if err := json.NewDecoder(in).Decode(&job); err != nil {
		return fmt.Errorf("read job: %w", err)
	}
	enc := json.NewEncoder(out)
	res := WorkerResult{Attempted: len(job.Tokens), PerEdge: make([]int, len(job.Edges)), CloseCodes: map[string]int{}, Errors: map[string]int{}}
	var pongs atomic.Int64
	handle := func(f events.Frame) {
		if f.Type == events.FramePong {
			pongs.Add(1)
		}
	}
	conns := make([]*api.Conn, 0, len(job.Tokens))
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / job.Rate)
	tick := time.NewTicker(max(interval, time.Microsecond))
	for i, tok := range job.Tokens {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		g := job.Offset + i
		edge := g % len(job.Edges)
		src := &net.TCPAddr{IP: net.ParseIP(job.Sources[g%len(job.Sources)])}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			c, err := api.Dial(dctx, job.Edges[edge], tok, src, handle)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors[errClass(err)]++
				return
			}
			res.ConnectUS = append(res.ConnectUS, time.Since(start).Microseconds())
			res.PerEdge[edge]++
			conns = append(conns, c)
		}()
	}
	tick.Stop()
	wg.Wait()
	res.Connected = len(conns)
	res.Phase = "connected"
	if err := enc.Encode(res); err != nil {
		return err
	}
	res.ConnectUS = nil // sent once

	holdCtx, cancel := context.WithTimeout(ctx, job.Hold)
	defer cancel()
	if job.PingInterval > 0 && len(conns) > 0 {
		if err := pingLoop(holdCtx, job, conns, &pongs, &res, enc); err != nil {
			return err
		}
	} else {
		<-holdCtx.Done()
	}
	for _, c := range conns {
		select {
		case <-c.Done():
			res.Disconnects++
			res.CloseCodes[strconv.Itoa(c.CloseCode())]++
		default:
		}
	}
	res.Pongs = pongs.Load()
	for _, c := range conns {
		c.Close()
	}
	res.Phase = "done"
	return enc.Encode(res)
}

// pingLoop sends every connection the JSON ping {"type":"ping"} on its jittered schedule until ctx
// ends, and writes a "round" line as each of the job's rounds completes.
func pingLoop(ctx context.Context, job WorkerJob, conns []*api.Conn, pongs *atomic.Int64, res *WorkerResult, enc *json.Encoder) error {
	sched := newPingSchedule(len(conns), job.PingInterval, job.PingRounds, time.Now(), rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(job.Offset))))
	type pending struct {
		round    int
		pings    int64
		deadline time.Time
	}
	var rounds []pending
	var buf []int
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Now()
		buf = sched.due(now, buf)
		for _, i := range buf {
			c := conns[i]
			alive := true
			select {
			case <-c.Done():
				alive = false
			default:
				// No id: the frame is exactly {"type":"ping"}, what a heartbeat of a real client is.
				if c.Send(events.Frame{Type: events.FramePing}, 5*time.Second) != nil {
					alive = false
				} else {
					res.PingsSent++
				}
			}
			for _, k := range sched.record(i, alive, now) {
				rounds = append(rounds, pending{k, res.PingsSent, now.Add(roundPongWait)})
			}
		}
		for len(rounds) > 0 && (pongs.Load() >= rounds[0].pings || !now.Before(rounds[0].deadline)) {
			line := WorkerResult{Phase: "round", Round: rounds[0].round, Attempted: res.Attempted, Connected: res.Connected, PingsSent: res.PingsSent, Pongs: pongs.Load()}
			if err := enc.Encode(line); err != nil {
				return err
			}
			rounds = rounds[1:]
		}
	}
}

// errClass buckets dial errors for the report without keeping every message.
func errClass(err error) string {
	s := err.Error()
	for _, k := range []string{"upgrade refused: 401", "upgrade refused: 403", "upgrade refused: 429", "upgrade refused: 503", "connection refused", "cannot assign requested address", "too many open files", "timeout", "deadline", "no hello", "reset by peer"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// Connect is the parent side of the connect mode: set up users, start the children (self re-exec
// with the hidden "worker" subcommand), measure the edges' memory before the ramp, once every
// connection is up and idle, and after each ping round, then merge the results.
func Connect(ctx context.Context, c ConnectConfig, self string, progress Progress, r *report.Report) error {
	h := api.NewHTTP(c.Gateway, c.SetupConcurrency)
	users, err := SetupUsers(ctx, h, c.Common, c.Users, progress)
	if err != nil {
		return &SetupError{err}
	}
	sources := make([]string, c.Sources)
	for i := range sources {
		sources[i] = fmt.Sprintf("127.0.0.%d", i+1)
	}
	mem := newEdgeMem(c, listenPorts)
	before := mem.sample(ctx)
	type child struct {
		cmd   *exec.Cmd
		lines *bufio.Scanner
		final *WorkerResult // its "done" line, once read
	}
	var children []*child
	defer func() {
		for _, ch := range children {
			if ch.cmd.ProcessState == nil {
				_ = ch.cmd.Process.Kill()
				_ = ch.cmd.Wait()
			}
		}
	}()
	for w := range c.Workers() {
		lo, hi := w*c.PerWorker, min((w+1)*c.PerWorker, c.Conns)
		job := WorkerJob{Edges: c.Edges, Sources: sources, Offset: lo, Rate: c.Rate / float64(c.Workers()), Hold: c.Hold,
			PingInterval: c.PingInterval, PingRounds: c.PingRounds}
		for i := lo; i < hi; i++ {
			job.Tokens = append(job.Tokens, users[i%len(users)].Token)
		}
		b, _ := json.Marshal(job)
		cmd := exec.CommandContext(ctx, self, "worker")
		cmd.Stdin = strings.NewReader(string(b))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		children = append(children, &child{cmd: cmd, lines: sc})
	}
	next := func(ch *child, want string) (WorkerResult, error) {
		var res WorkerResult
		if !ch.lines.Scan() {
			return res, fmt.Errorf("worker ended before %q: %v", want, ch.lines.Err())
		}
		if err := json.Unmarshal(ch.lines.Bytes(), &res); err != nil {
			return res, fmt.Errorf("worker: bad %q line: %v", want, err)
		}
		if res.Phase == "done" {
			ch.final = &res
		}
		return res, nil
	}
	var connect stats.Samples
	total := WorkerResult{PerEdge: make([]int, len(c.Edges)), CloseCodes: map[string]int{}, Errors: map[string]int{}}
	for i, ch := range children {
		res, err := next(ch, "connected")
		if err != nil {
			return err
		}
		if res.Phase != "connected" {
			return fmt.Errorf("worker: %q line before \"connected\"", res.Phase)
		}
		total.Attempted += res.Attempted
		total.Connected += res.Connected
		for e, n := range res.PerEdge {
			total.PerEdge[e] += n
		}
		for _, us := range res.ConnectUS {
			connect.Add(time.Duration(us) * time.Microsecond)
		}
		for k, v := range res.Errors {
			total.Errors[k] += v
		}
		if progress != nil {
			progress("workers connected", i+1, len(children))
		}
	}
	// Every child has ramped and is holding: the edges' memory now is the cost of idle connections.
	stages := []memSample{before, mem.sample(ctx)}
	// Then after each ping round: what the connections cost once they have been used.
rounds:
	for k := 1; k <= c.PingRounds; k++ {
		for _, ch := range children {
			res, err := next(ch, "round")
			if err != nil {
				return err
			}
			if res.Phase != "round" || res.Round != k {
				break rounds // the hold ended first (or the worker had no connection): fewer rounds
			}
		}
		stages = append(stages, mem.sample(ctx))
		if progress != nil {
			progress("ping rounds", k, c.PingRounds)
		}
	}
	for _, ch := range children {
		for ch.final == nil {
			if _, err := next(ch, "done"); err != nil {
				return err
			}
		}
		res := ch.final
		total.PingsSent += res.PingsSent
		total.Pongs += res.Pongs
		total.Disconnects += res.Disconnects
		for k, v := range res.CloseCodes {
			total.CloseCodes[k] += v
		}
		if err := ch.cmd.Wait(); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
	}
	s := connect.Summarize()
	r.Set("attempted", float64(total.Attempted))
	r.Set("connected", float64(total.Connected))
	r.Set("success_pct", 100*float64(total.Connected)/float64(max(total.Attempted, 1)))
	r.Set("connect_p50_ms", s.P50MS)
	r.Set("connect_p95_ms", s.P95MS)
	r.Set("connect_p99_ms", s.P99MS)
	r.Set("pings_sent", float64(total.PingsSent))
	r.Set("pongs", float64(total.Pongs))
	if total.PingsSent > 0 {
		r.Set("pong_pct", 100*float64(total.Pongs)/float64(total.PingsSent))
	}
	r.Set("ping_rounds_measured", float64(len(stages)-2))
	r.Set("disconnects", float64(total.Disconnects))
	r.Details["connect"] = s
	r.Details["errors"] = total.Errors
	r.Details["close_codes"] = total.CloseCodes
	mem.report(r, stages, total.Connected, total.PerEdge)
	return nil
}

// edgeMem measures the edges' resident memory: VmRSS of each -edge-pid (and the
// process_resident_memory_bytes of each -edge-metrics URL, in the sum only). A pid is matched to
// its -edges URL by the port it listens on, so per-edge figures divide by that edge's connections;
// when the ports cannot be read, pids given one per edge are taken in the order of -edges.
type edgeMem struct {
	c      ConnectConfig
	byEdge []int  // edge index -> pid; nil when unmatched
	match  string // "ports", "order" or "none"
}

func newEdgeMem(c ConnectConfig, ports func(pid int) ([]int, error)) edgeMem {
	m := edgeMem{c: c, match: "none"}
	if len(c.EdgePIDs) == 0 {
		return m
	}
	byEdge := make([]int, len(c.Edges))
	matched := 0
	for e, raw := range c.Edges {
		port := urlPort(raw)
		for _, pid := range c.EdgePIDs {
			ps, err := ports(pid)
			if err != nil {
				continue
			}
			if slices.Contains(ps, port) {
				if byEdge[e] != 0 {
					byEdge[e] = -1 // two pids claim the port: do not guess
				} else {
					byEdge[e] = pid
				}
			}
		}
		if byEdge[e] > 0 {
			matched++
		}
	}
	switch {
	case matched == len(c.Edges):
		m.byEdge, m.match = byEdge, "ports"
	case len(c.EdgePIDs) == len(c.Edges):
		m.byEdge, m.match = c.EdgePIDs, "order"
	}
	return m
}

// urlPort is the port of a ws/wss/http URL, explicit or implied by the scheme.
func urlPort(raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "wss" || u.Scheme == "https" {
		return 443
	}
	return 80
}

// memSample is the edges' memory at one moment, in kB: the sum over every pid and metrics URL
// (-1 when one failed or none was given) and per matched edge (-1 unknown).
type memSample struct {
	sumKB  int64
	edgeKB []int64
}

func (m edgeMem) sample(ctx context.Context) memSample {
	s := memSample{sumKB: -1, edgeKB: make([]int64, len(m.c.Edges))}
	for e := range s.edgeKB {
		s.edgeKB[e] = -1
		if m.byEdge != nil {
			if kb, err := rssKB(m.byEdge[e]); err == nil {
				s.edgeKB[e] = kb
			}
		}
	}
	if len(m.c.EdgePIDs) == 0 && len(m.c.Metrics) == 0 {
		return s
	}
	var sum int64
	for _, pid := range m.c.EdgePIDs {
		kb, err := rssKB(pid)
		if err != nil {
			return s
		}
		sum += kb
	}
	hc := &http.Client{}
	for _, u := range m.c.Metrics {
		v, err := scrapeMetric(ctx, hc, u, "process_resident_memory_bytes")
		if err != nil {
			return s
		}
		sum += int64(v) / 1024
	}
	s.sumKB = sum
	return s
}

// edgeFigures is one edge's memory in the report's details.
type edgeFigures struct {
	URL             string    `json:"url"`
	PID             int       `json:"pid"`
	Connections     int       `json:"connections"`
	RSSBeforeKB     int64     `json:"rss_before_kb"`
	RSSIdleKB       int64     `json:"rss_idle_kb"`
	RSSRoundsKB     []int64   `json:"rss_after_round_kb,omitempty"`
	PerConnIdleKB   float64   `json:"per_conn_idle_kb"`
	PerConnRoundsKB []float64 `json:"per_conn_after_round_kb,omitempty"`
}

// report writes the memory figures: stages[0] before the ramp, [1] idle, [1+k] after round k.
// Per connection = (stage - before) / connections, summed over the edges and per edge.
func (m edgeMem) report(r *report.Report, stages []memSample, connected int, perEdge []int) {
	r.Details["edge_pid_match"] = m.match
	before, idle := stages[0], stages[1]
	if before.sumKB >= 0 && idle.sumKB >= 0 && connected > 0 {
		r.Set("edge_rss_before_kb", float64(before.sumKB))
		r.Set("edge_rss_after_kb", float64(idle.sumKB))
		r.Set("rss_per_conn_kb", float64(idle.sumKB-before.sumKB)/float64(connected))
		for k, st := range stages[2:] {
			if st.sumKB < 0 {
				continue
			}
			v := float64(st.sumKB-before.sumKB) / float64(connected)
			r.Set(fmt.Sprintf("rss_per_conn_kb_round%d", k+1), v)
			if k == len(stages)-3 {
				r.Set("rss_per_conn_kb_pinged", v) // after the last round measured
			}
		}
	}
	if m.byEdge == nil {
		return
	}
	var edges []edgeFigures
	for e, u := range m.c.Edges {
		ef := edgeFigures{URL: u, PID: m.byEdge[e], Connections: perEdge[e], RSSBeforeKB: before.edgeKB[e], RSSIdleKB: idle.edgeKB[e]}
		ok := ef.RSSBeforeKB >= 0 && ef.RSSIdleKB >= 0 && ef.Connections > 0
		if ok {
			ef.PerConnIdleKB = float64(ef.RSSIdleKB-ef.RSSBeforeKB) / float64(ef.Connections)
			r.Set(fmt.Sprintf("edge%d_rss_per_conn_kb", e), ef.PerConnIdleKB)
		}
		for k, st := range stages[2:] {
			ef.RSSRoundsKB = append(ef.RSSRoundsKB, st.edgeKB[e])
			if ok && st.edgeKB[e] >= 0 {
				v := float64(st.edgeKB[e]-ef.RSSBeforeKB) / float64(ef.Connections)
				ef.PerConnRoundsKB = append(ef.PerConnRoundsKB, v)
				r.Set(fmt.Sprintf("edge%d_rss_per_conn_kb_round%d", e, k+1), v)
			}
		}
		edges = append(edges, ef)
	}
	r.Details["edges"] = edges
}

// SetupError marks a failure of the setup phase (exit code 3).
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return "setup: " + e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }
