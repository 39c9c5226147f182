// Command parley-load produces Parley's performance figures against a running platform:
//
//	parley-load connect -n 60000 -edges ws://127.0.0.1:8090,... -hold 2m -edge-pid 1234,...
//	parley-load chat    -users 1000 -convs 100 -rate 3000 -duration 60s
//	parley-load fanout  -members 5000 -messages 5
//	parley-load soak    -rate 50 -duration 10m -data-dir .data
//
// Exit codes: 0 ok; 1 an -assert budget was missed; 2 usage; 3 setup failed; 4 the run failed;
// 5 an invariant was violated (chat, fanout, soak: wrong_answers, lost, lost_messages, dup,
// out_of_order, wrong_pushes or stored_twice is not 0), which takes precedence over 1: a wrong
// answer matters more than a missed budget. The report is written in every case.
// Targets must be loopback unless the tool runs inside a Kubernetes pod with -allow-cluster-targets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-im/parley/load/internal/report"
	"github.com/parley-im/parley/load/internal/run"
)

const (
	exitOK       = 0
	exitAssert   = 1
	exitUsage    = 2
	exitSetup    = 3
	exitRunError = 4
	exitInvalid  = 5
)

func main() { os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr)) }

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: parley-load connect|chat|fanout|soak [flags]  (-h for the flags of each)")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mode, args := args[0], args[1:]
	if mode == "worker" {
		// Hidden: a child of connect, reading its job on stdin.
		if err := run.RunWorker(ctx, os.Stdin, stdout); err != nil {
			fmt.Fprintln(stderr, "worker:", err)
			return exitRunError
		}
		return exitOK
	}

	fs := flag.NewFlagSet("parley-load "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c run.Common
	var edges, reportPath string
	var asserts multiFlag
	var maxTime time.Duration
	var allowCluster bool
	var cpuProfile string
	fs.StringVar(&c.Gateway, "gateway", "http://127.0.0.1:8080", "gateway (public HTTP API) base URL")
	fs.StringVar(&edges, "edges", "ws://127.0.0.1:8090/v1/ws,ws://127.0.0.1:8091/v1/ws", "comma-separated socket-edge WebSocket URLs")
	fs.StringVar(&c.RunID, "run", strconv.FormatInt(time.Now().Unix()%1_000_000_000, 36), "run id, names the users load_<run>_<i> (reuse it to reuse the users)")
	fs.StringVar(&c.Password, "password", "load-password-1", "password of the load users")
	fs.IntVar(&c.SetupConcurrency, "setup-concurrency", 16, "parallel HTTP calls while setting up")
	fs.StringVar(&reportPath, "report", "", "write the JSON report to this file")
	fs.Var(&asserts, "assert", "budget metric<=value (repeatable), e.g. p99_ms<=100; exit 1 when missed")
	fs.DurationVar(&maxTime, "max-time", 30*time.Minute, "hard limit for the whole run, setup included")
	fs.BoolVar(&allowCluster, "allow-cluster-targets", false, "inside a Kubernetes pod only: allow non-loopback targets")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write this tool's own CPU profile (pprof, the whole run, setup included) to this file")

	var cc run.ConnectConfig
	var ch run.ChatConfig
	var fo run.FanoutConfig
	var so run.SoakConfig
	var pids, metrics string
	var heartbeat time.Duration
	switch mode {
	case "connect":
		fs.IntVar(&cc.Conns, "n", 1000, "connections")
		fs.IntVar(&cc.Users, "users", 0, "users the connections are spread over (default min(n, 1000))")
		fs.IntVar(&cc.PerWorker, "per-worker", 15000, "connections per worker process (<= 19000: 20k fds per process)")
		fs.IntVar(&cc.Sources, "sources", 4, "source addresses 127.0.0.1..127.0.0.<sources> (ephemeral ports per address)")
		fs.Float64Var(&cc.Rate, "rate", 1000, "connection ramp rate per second (all workers together)")
		fs.DurationVar(&cc.Hold, "hold", 60*time.Second, "how long to hold the connections")
		fs.DurationVar(&cc.PingInterval, "ping-interval", 30*time.Second, `every connection sends {"type":"ping"} this often, jittered ±10 % (0: none, the connections stay idle)`)
		fs.IntVar(&cc.PingRounds, "ping-rounds", 0, "measure the edges' RSS again after each of this many ping rounds (needs -edge-pid)")
		fs.DurationVar(&heartbeat, "heartbeat", 0, "the former name of -ping-interval (kept so older commands run unchanged)")
		fs.StringVar(&pids, "edge-pid", "", "comma-separated edge pids, for RSS per connection (/proc/<pid>/status)")
		fs.StringVar(&metrics, "edge-metrics", "", "comma-separated edge metrics URLs (process_resident_memory_bytes)")
	case "chat":
		chatFlags(fs, &ch, 10*time.Second)
	case "soak":
		chatFlags(fs, &so.Chat, 10*time.Minute)
		fs.StringVar(&so.DataDir, "data-dir", ".data", "the platform's DATA_DIR: every process with a pid file in <data-dir>/run is sampled")
		fs.DurationVar(&so.SampleEvery, "sample-every", 10*time.Second, "sample each process's VmRSS and go_goroutines this often")
		fs.DurationVar(&so.Window, "window", time.Minute, "compare the mean of the first window with the mean of the last")
		fs.Float64Var(&so.TolerancePct, "flat-tolerance", 10, "flat: the last window's mean within this many percent of the first's")
		fs.DurationVar(&so.Warmup, "warmup", 0, "leave the samples of this first part of the send phase out of the first window")
	case "fanout":
		fs.IntVar(&fo.Members, "members", 100, "members of the group, all online")
		fs.IntVar(&fo.Messages, "messages", 5, "messages sent one after another")
		fs.DurationVar(&fo.Grace, "grace", 30*time.Second, "per message: wait this long for every member")
		fs.BoolVar(&fo.Ack.EveryPush, "ack-every-push", false, "ack every message push at once, as docs/protocol.md tells clients (default: cumulative acks every 200 ms)")
	default:
		fmt.Fprintf(stderr, "unknown mode %q: connect, chat, fanout or soak\n", mode)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["heartbeat"] {
		if set["ping-interval"] {
			fmt.Fprintln(stderr, "-heartbeat and -ping-interval: give one (-heartbeat is its former name)")
			return exitUsage
		}
		cc.PingInterval = heartbeat
	}
	c.Edges = splitList(edges)
	// Only main reads the environment: a pod has KUBERNETES_SERVICE_HOST, a workstation does not.
	c.AllowRemote = allowCluster && os.Getenv("KUBERNETES_SERVICE_HOST") != ""
	if allowCluster && !c.AllowRemote {
		fmt.Fprintln(stderr, "-allow-cluster-targets is only honoured inside a Kubernetes pod")
		return exitUsage
	}
	var as []report.Assertion
	for _, s := range asserts {
		a, err := report.ParseAssertion(s)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		as = append(as, a)
	}
	if maxTime <= 0 || maxTime > 2*run.MaxDuration {
		fmt.Fprintln(stderr, "-max-time: (0, 2h]")
		return exitUsage
	}

	var validate func() error
	var exec func(ctx context.Context, p run.Progress, r *report.Report) error
	settings := map[string]any{"gateway": c.Gateway, "edges": c.Edges}
	switch mode {
	case "connect":
		cc.Common = c
		if cc.Users == 0 {
			cc.Users = min(cc.Conns, 1000)
		}
		for _, p := range splitList(pids) {
			n, err := strconv.Atoi(p)
			if err != nil {
				fmt.Fprintf(stderr, "-edge-pid: %q is not a pid\n", p)
				return exitUsage
			}
			cc.EdgePIDs = append(cc.EdgePIDs, n)
		}
		cc.Metrics = splitList(metrics)
		validate = cc.Validate
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "cannot find own executable:", err)
			return exitRunError
		}
		exec = func(ctx context.Context, p run.Progress, r *report.Report) error {
			return run.Connect(ctx, cc, self, p, r)
		}
		settings["n"], settings["users"], settings["workers"], settings["sources"], settings["rate"], settings["hold"] = cc.Conns, cc.Users, cc.Workers(), cc.Sources, cc.Rate, cc.Hold.String()
		settings["ping_interval"], settings["ping_rounds"] = cc.PingInterval.String(), cc.PingRounds
	case "chat":
		ch.Common = c
		validate = ch.Validate
		exec = func(ctx context.Context, p run.Progress, r *report.Report) error { return run.Chat(ctx, ch, p, r) }
		settings["users"], settings["convs"], settings["rate"], settings["duration"], settings["transport"], settings["grace"] = ch.Users, ch.Convs, ch.Rate, ch.Duration.String(), ch.Transport, ch.Grace.String()
		settings["ack_every_push"] = ch.Ack.EveryPush
	case "soak":
		so.Chat.Common = c
		validate = so.Validate
		exec = func(ctx context.Context, p run.Progress, r *report.Report) error { return run.Soak(ctx, so, p, r) }
		settings["users"], settings["convs"], settings["rate"], settings["duration"], settings["transport"], settings["grace"] = so.Chat.Users, so.Chat.Convs, so.Chat.Rate, so.Chat.Duration.String(), so.Chat.Transport, so.Chat.Grace.String()
		settings["ack_every_push"], settings["data_dir"], settings["sample_every"], settings["window"], settings["flat_tolerance_pct"] = so.Chat.Ack.EveryPush, so.DataDir, so.SampleEvery.String(), so.Window.String(), so.TolerancePct
		settings["warmup"] = so.Warmup.String()
		if !set["max-time"] {
			// A soak is long by design: its default bound is the run itself plus time for the setup.
			maxTime = min(so.Chat.Duration+so.Chat.Grace+30*time.Minute, 2*run.MaxDuration)
		}
	case "fanout":
		fo.Common = c
		validate = fo.Validate
		exec = func(ctx context.Context, p run.Progress, r *report.Report) error { return run.Fanout(ctx, fo, p, r) }
		settings["members"], settings["messages"], settings["grace"] = fo.Members, fo.Messages, fo.Grace.String()
		settings["ack_every_push"] = fo.Ack.EveryPush
	}
	if err := validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "-cpuprofile:", err)
			return exitUsage
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			fmt.Fprintln(stderr, "-cpuprofile:", err)
			return exitUsage
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	ctx, cancel := context.WithTimeout(ctx, maxTime)
	defer cancel()
	started := time.Now()
	r := report.New(mode, c.RunID, started)
	r.Settings = settings
	err := exec(ctx, progressLine(stdout), r)
	r.Duration = time.Since(started).Seconds()
	code := exitOK
	if err != nil {
		r.Passed = false
		r.Errors = append(r.Errors, err.Error())
		code = exitRunError
		var se *run.SetupError
		if errors.As(err, &se) {
			code = exitSetup
		}
	} else if !r.Check(as) {
		code = exitAssert
	}
	if len(r.CheckInvariants(run.Invariants())) > 0 && (code == exitOK || code == exitAssert) {
		code = exitInvalid
	}
	if isTTY(stdout) {
		fmt.Fprint(stdout, "\r\033[K")
	}
	fmt.Fprint(stdout, r.Text())
	if reportPath != "" {
		if werr := r.WriteFile(reportPath); werr != nil {
			fmt.Fprintln(stderr, "write report:", werr)
			if code == exitOK {
				code = exitRunError
			}
		}
	}
	return code
}

// chatFlags registers the chat workload's flags (chat and soak share them).
func chatFlags(fs *flag.FlagSet, ch *run.ChatConfig, duration time.Duration) {
	fs.IntVar(&ch.Users, "users", 100, "users (one connection each)")
	fs.IntVar(&ch.Convs, "convs", 10, "group conversations (users spread evenly)")
	fs.Float64Var(&ch.Rate, "rate", 100, "messages per second, all users together")
	fs.DurationVar(&ch.Duration, "duration", duration, "sending time")
	fs.StringVar(&ch.Transport, "transport", "ws", "send over ws or http (receiving is always ws)")
	fs.DurationVar(&ch.Grace, "grace", 10*time.Second, "wait for late answers and deliveries before counting losses")
	fs.StringVar(&ch.CPUDataDir, "cpu-data-dir", "", "the platform's DATA_DIR: report CPU µs per acked message of each process with a pid file there, of PostgreSQL, Redis and this tool (quiet machine only)")
	fs.BoolVar(&ch.Ack.EveryPush, "ack-every-push", false, "ack every message push at once, as docs/protocol.md tells clients (default: cumulative acks every 200 ms)")
}

// progressLine rewrites one status line, only when stdout is a terminal (logs and CI get the summary only).
func progressLine(w io.Writer) run.Progress {
	if !isTTY(w) {
		return nil
	}
	last := time.Time{}
	return func(phase string, done, total int) {
		if done != total && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r\033[K%s %d/%d", phase, done, total)
	}
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
