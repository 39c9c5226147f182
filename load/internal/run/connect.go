package run

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
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
	Edges     []string      `json:"edges"`
	Tokens    []string      `json:"tokens"` // one per connection
	Sources   []string      `json:"sources"`
	Offset    int           `json:"offset"` // global index of the first connection (spreads edges and sources)
	Rate      float64       `json:"rate"`
	Hold      time.Duration `json:"hold"`
	Heartbeat time.Duration `json:"heartbeat"`
}

// WorkerResult is a child's answer: a "connected" line once its ramp is over, then the final line.
type WorkerResult struct {
	Phase       string         `json:"phase"`
	Attempted   int            `json:"attempted"`
	Connected   int            `json:"connected"`
	ConnectUS   []int64        `json:"connect_us,omitempty"`
	PingsSent   int64          `json:"pings_sent"`
	Pongs       int64          `json:"pongs"`
	Disconnects int            `json:"disconnects"`
	CloseCodes  map[string]int `json:"close_codes,omitempty"`
	Errors      map[string]int `json:"errors,omitempty"`
}

// RunWorker is the child side: read the job from in, connect, report, hold with heartbeats, report.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	var job WorkerJob
	if err := json.NewDecoder(in).Decode(&job); err != nil {
		return fmt.Errorf("read job: %w", err)
	}
	enc := json.NewEncoder(out)
	res := WorkerResult{Attempted: len(job.Tokens), CloseCodes: map[string]int{}, Errors: map[string]int{}}
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
		edge := job.Edges[g%len(job.Edges)]
		src := &net.TCPAddr{IP: net.ParseIP(job.Sources[g%len(job.Sources)])}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			c, err := api.Dial(dctx, edge, tok, src, handle)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors[errClass(err)]++
				return
			}
			res.ConnectUS = append(res.ConnectUS, time.Since(start).Microseconds())
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

	// Hold: spread pings evenly over each heartbeat interval so the edge sees a steady rate.
	holdCtx, cancel := context.WithTimeout(ctx, job.Hold)
	defer cancel()
	const step = 100 * time.Millisecond
	perStep := max(1, int(float64(len(conns))*float64(step)/float64(job.Heartbeat)+0.999))
	hb := time.NewTicker(step)
	defer hb.Stop()
	next := 0
loop:
	for len(conns) > 0 {
		select {
		case <-holdCtx.Done():
			break loop
		case <-hb.C:
		}
		for range perStep {
			c := conns[next%len(conns)]
			next++
			select {
			case <-c.Done():
				continue
			default:
			}
			if c.Send(events.Frame{Type: events.FramePing, ID: "p"}, 5*time.Second) == nil {
				res.PingsSent++
			}
		}
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
// with the hidden "worker" subcommand), measure the edges' memory around the ramp, merge the results.
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
	rssBefore := edgeMemory(ctx, c)
	type child struct {
		cmd   *exec.Cmd
		lines *bufio.Scanner
	}
	var children []child
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
		job := WorkerJob{Edges: c.Edges, Sources: sources, Offset: lo, Rate: c.Rate / float64(c.Workers()), Hold: c.Hold, Heartbeat: c.Heartbeat}
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
		children = append(children, child{cmd, sc})
	}
	read := func(ch child, phase string) (WorkerResult, error) {
		var res WorkerResult
		if !ch.lines.Scan() {
			return res, fmt.Errorf("worker ended before %q: %v", phase, ch.lines.Err())
		}
		if err := json.Unmarshal(ch.lines.Bytes(), &res); err != nil || res.Phase != phase {
			return res, fmt.Errorf("worker: bad %q line: %v", phase, err)
		}
		return res, nil
	}
	var connect stats.Samples
	total := WorkerResult{CloseCodes: map[string]int{}, Errors: map[string]int{}}
	for i, ch := range children {
		res, err := read(ch, "connected")
		if err != nil {
			return err
		}
		total.Attempted += res.Attempted
		total.Connected += res.Connected
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
	// Every child has ramped and is holding: the edges' memory now is the cost of the connections.
	rssAfter := edgeMemory(ctx, c)
	for _, ch := range children {
		res, err := read(ch, "done")
		if err != nil {
			return err
		}
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
	r.Set("disconnects", float64(total.Disconnects))
	r.Details["connect"] = s
	r.Details["errors"] = total.Errors
	r.Details["close_codes"] = total.CloseCodes
	if rssBefore >= 0 && rssAfter >= 0 && total.Connected > 0 {
		r.Set("edge_rss_before_kb", float64(rssBefore)/1024)
		r.Set("edge_rss_after_kb", float64(rssAfter)/1024)
		r.Set("rss_per_conn_kb", float64(rssAfter-rssBefore)/1024/float64(total.Connected))
	}
	return nil
}

// edgeMemory sums the edges' resident memory in bytes: VmRSS of the given pids, or the
// process_resident_memory_bytes of the metrics URLs; -1 when neither was given or one failed.
func edgeMemory(ctx context.Context, c ConnectConfig) int64 {
	if len(c.EdgePIDs) == 0 && len(c.Metrics) == 0 {
		return -1
	}
	var sum int64
	for _, pid := range c.EdgePIDs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return -1
		}
		kb, ok := VmRSS(string(b))
		if !ok {
			return -1
		}
		sum += kb * 1024
	}
	for _, u := range c.Metrics {
		v, err := scrapeRSS(ctx, u)
		if err != nil {
			return -1
		}
		sum += v
	}
	return sum
}

// VmRSS reads the VmRSS line (kB) of /proc/<pid>/status.
func VmRSS(status string) (int64, bool) {
	for line := range strings.SplitSeq(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				v, err := strconv.ParseInt(f[0], 10, 64)
				return v, err == nil
			}
		}
	}
	return 0, false
}

func scrapeRSS(ctx context.Context, u string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, err
	}
	return MetricValue(string(b), "process_resident_memory_bytes")
}

// MetricValue reads an unlabelled sample from a Prometheus text exposition.
func MetricValue(text, name string) (int64, error) {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int64(f), err
		}
	}
	return 0, errors.New(name + " not exposed")
}

// SetupError marks a failure of the setup phase (exit code 3).
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return "setup: " + e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }
