//go:build e2e

package e2e

// Helpers of the fault tests (fault_test.go): a private platform with the fault-injection control
// listener on, pid-file based kill -9, a private PostgreSQL, a reconnecting device that follows
// docs/protocol.md (reconnect, pull, merge by seq, ack), and senders that retry with the same
// client_msg_id.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/check"
	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// faultPlatform is a private platform (bin/parley-platform) started by one fault test, so killing
// its children never disturbs the rest of the suite.
type faultPlatform struct {
	*system
	runDir  string // DATA_DIR/run: <child>.pid, control.addr
	control string // http://127.0.0.1:port of the control listener
}

// startFaultPlatform starts a private platform with the control listener on; env adds variables
// (DATABASE_URL for the PostgreSQL test). It is stopped at the end of the test.
func startFaultPlatform(t *testing.T, env ...string) *faultPlatform {
	t.Helper()
	started := time.Now()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	// system.start appends PARLEY_E2E_PLATFORM_ENV to the platform's environment.
	t.Setenv("PARLEY_E2E_PLATFORM_ENV", "CONTROL_ADDR=127.0.0.1:0")
	s := &system{hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	stop, err := s.start()
	if err != nil {
		_ = stop()
		t.Fatalf("start fault platform: %v (log %s)", err, s.logPath)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop fault platform: %v (log %s)", err, s.logPath)
		}
		if t.Failed() {
			t.Logf("fault platform log: %s", s.logPath)
			return
		}
		_ = os.RemoveAll(filepath.Dir(s.logPath)) // its data, pid files and log
	})
	if err := s.awaitReady(2 * time.Minute); err != nil {
		t.Fatalf("fault platform: %v (log %s)", err, s.logPath)
	}
	fp := &faultPlatform{system: s, runDir: filepath.Join(filepath.Dir(s.logPath), "data", "run")}
	b, err := os.ReadFile(filepath.Join(fp.runDir, "control.addr"))
	if err != nil {
		t.Fatalf("control address: %v (is bin/parley-platform rebuilt?)", err)
	}
	fp.control = "http://" + strings.TrimSpace(string(b))
	t.Logf("fault platform ready in %s (log %s)", time.Since(started).Round(time.Millisecond), s.logPath)
	return fp
}

// pid reads a child's pid file.
func (fp *faultPlatform) pid(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(fp.runDir, name+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// kill9 sends SIGKILL to the child's current process and returns its pid. It checks the pid is
// the expected program first, so a stale file can never make the test kill something else.
func (fp *faultPlatform) kill9(t *testing.T, name, program string) int {
	t.Helper()
	pid, err := fp.pid(name)
	if err != nil {
		t.Fatalf("pid of %s: %v", name, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), program) {
		t.Fatalf("pid %d of %s is not %s (%q, %v)", pid, name, program, cmdline, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s (%d): %v", name, pid, err)
	}
	t.Logf("kill -9 %s (pid %d)", name, pid)
	return pid
}

// awaitRestart polls until the platform has relaunched name (a new pid in its pid file) and every
// part is ready again; it returns how long that took from now.
func (fp *faultPlatform) awaitRestart(t *testing.T, ctx context.Context, name string, oldPid int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if pid, err := fp.pid(name); err == nil && pid != oldPid && syscall.Kill(pid, 0) == nil {
			break
		}
		if !pollWait(ctx, 50*time.Millisecond) {
			t.Fatalf("%s not restarted (old pid %d)", name, oldPid)
		}
	}
	rem := 60 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		rem = time.Until(dl)
	}
	if err := fp.awaitReady(rem); err != nil {
		t.Fatalf("after restarting %s: %v", name, err)
	}
	return time.Since(start)
}

type kafkaState struct {
	Outage      bool      `json:"outage"`
	Until       time.Time `json:"until"`
	Connections int       `json:"connections"`
}

// kafkaOutage asks the control listener to drop every broker connection for d.
func (fp *faultPlatform) kafkaOutage(t *testing.T, ctx context.Context, d time.Duration) kafkaState {
	t.Helper()
	var st kafkaState
	if err := fp.controlCall(ctx, http.MethodPost, "/kafka/outage?duration="+d.String(), &st); err != nil {
		t.Fatalf("kafka outage: %v", err)
	}
	return st
}

func (fp *faultPlatform) kafka(ctx context.Context) (kafkaState, error) {
	var st kafkaState
	err := fp.controlCall(ctx, http.MethodGet, "/kafka", &st)
	return st, err
}

func (fp *faultPlatform) controlCall(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, fp.control+path, nil)
	if err != nil {
		return err
	}
	resp, err := fp.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// newUser registers a fresh user on this platform.
func (fp *faultPlatform) newUser(t *testing.T) *user {
	t.Helper()
	api, err := client.New(fp.gateway, fp.hc)
	if err != nil {
		t.Fatal(err)
	}
	u := &user{Client: api, name: fmt.Sprintf("e2e_%s_%d", randHex(6), userSeq.Add(1)), password: "pw-" + randHex(8)}
	ctx := timeout(t, 30*time.Second)
	if _, err := u.Register(ctx, events.RegisterRequest{Username: u.name, Password: u.password}); err != nil {
		t.Fatalf("register %s: %v", u.name, err)
	}
	return u
}

// pollWait waits d (a polling interval, never a correctness wait); false when ctx ended.
func pollWait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ---- a private PostgreSQL ----

// privatePG is a PostgreSQL server of the test's own, from the machine's binaries, in a temp dir,
// on a free port, trust auth. It never touches the shared server.
type privatePG struct {
	binDir string
	dir    string // owned by the server's user
	data   string
	port   int
	runAs  string // "" or the user to run the server as (initdb refuses root)
	opts   string // server options (port, socket directory...), given on every start
}

func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		t.Skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
	}
	sort.Strings(initdbs)
	pg := &privatePG{binDir: filepath.Dir(initdbs[len(initdbs)-1])}
	dir, err := os.MkdirTemp("", "parley-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg.dir, pg.data = dir, filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := osuser.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			t.Skip("running as root and there is no postgres user to run a private PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		pg.runAs = "postgres"
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	pg.port = ports[0]
	t.Cleanup(func() {
		_ = pg.ctl(context.Background(), "stop", "-m", "immediate", "-w")
		os.RemoveAll(pg.dir)
	})
	ctx := timeout(t, time.Minute)
	if out, err := pg.run(ctx, "initdb", "-D", pg.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.opts = fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c max_connections=300",
		pg.port, pg.dir)
	if err := pg.start(ctx); err != nil {
		t.Fatalf("start private PostgreSQL: %v", err)
	}
	return pg
}

func (pg *privatePG) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, db)
}

// restart is `pg_ctl restart -m fast`: every connection is closed, the server comes back with its data.
func (pg *privatePG) restart(ctx context.Context) error {
	// -l again: without it the new postmaster writes to pg_ctl's output, our pipe, and holds it open.
	return pg.ctl(ctx, "restart", "-m", "fast", "-w", "-t", "60", "-l", filepath.Join(pg.dir, "server.log"))
}

// stop is `pg_ctl stop -m fast`; start (re)starts it with its data, always with its own port and
// socket directory (a bare start would take 5432, the shared server's).
func (pg *privatePG) stop(ctx context.Context) error {
	return pg.ctl(ctx, "stop", "-m", "fast", "-w", "-t", "60")
}

func (pg *privatePG) start(ctx context.Context) error {
	return pg.ctl(ctx, "start", "-w", "-t", "60", "-l", filepath.Join(pg.dir, "server.log"), "-o", pg.opts)
}

func (pg *privatePG) ctl(ctx context.Context, args ...string) error {
	out, err := pg.run(ctx, "pg_ctl", append([]string{"-D", pg.data}, args...)...)
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (pg *privatePG) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	bin := filepath.Join(pg.binDir, prog)
	var cmd *exec.Cmd
	if pg.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", pg.runAs, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Dir = pg.dir
	// The server must not die with a test's signal group; a server that kept our output pipe open
	// must not hang the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// ---- a device that follows docs/protocol.md ----

// device is one user's WebSocket client that survives faults the way docs/protocol.md says: on a
// drop it reconnects with backoff (to the next edge, or, sticky, the same one until it is back),
// waits for hello, pulls what it lacks, merges pushes by seq, acks what it holds contiguously, and
// pulls a gap when a push skips seqs. Every connection is watched by the shared ledger.
type device struct {
	u      *user
	name   string
	edges  []string
	edge   int  // the edge it starts on
	sticky bool // reconnect to the same edge only
	l      *check.Ledger

	mu        sync.Mutex
	conn      *client.Conn
	connEdge  int
	changed   chan struct{} // closed and replaced when conn changes
	held      map[string]map[int64]events.Message
	contig    map[string]int64 // highest seq held with every seq below it
	acked     map[string]int64
	gap       bool
	conns     int
	drops     []string // how each connection ended
	pulled    int      // messages first learned from history
	conflicts []string
	done      chan struct{}
}

func newDevice(u *user, name string, edges []string, edge int, sticky bool, l *check.Ledger) *device {
	return &device{u: u, name: name, edges: edges, edge: edge, sticky: sticky, l: l,
		changed: make(chan struct{}), held: map[string]map[int64]events.Message{},
		contig: map[string]int64{}, acked: map[string]int64{}, done: make(chan struct{})}
}

// start runs the device until ctx ends; it returns once the first connection is up.
func (d *device) start(t *testing.T, ctx context.Context) {
	t.Helper()
	go d.run(ctx)
	if _, err := d.current(ctx); err != nil {
		t.Fatalf("%s: first connection: %v", d.name, err)
	}
}

func (d *device) run(ctx context.Context) {
	defer close(d.done)
	attempt := 0
	lastEdge := d.edge
	for ctx.Err() == nil {
		edge := d.edge
		if !d.sticky && attempt > 0 {
			// After a drop, try the other edges first: a client library picks another instance.
			edge = (lastEdge + attempt) % len(d.edges)
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := client.Dial(dctx, d.edges[edge], client.WSAuth{Token: d.u.Tokens().AccessToken}, client.DialOptions{})
		cancel()
		if err != nil {
			attempt++
			// Exponential backoff with full jitter (protocol.md), capped low for a test.
			backoff := min(2*time.Second, 100*time.Millisecond<<min(attempt, 5))
			if !pollWait(ctx, time.Duration(rand.Int64N(int64(backoff))+1)) {
				return
			}
			continue
		}
		attempt, lastEdge = 0, edge
		d.mu.Lock()
		d.conns++
		key := fmt.Sprintf("%s/conn%d@edge%d", d.name, d.conns, edge)
		d.mu.Unlock()
		d.l.Watch(d.u.UserID(), key, conn)
		conn.OnFrame(d.onFrame)
		d.setConn(conn, edge)
		// Connect first, pull second: nothing falls between.
		d.mu.Lock()
		d.gap = true
		d.mu.Unlock()
		d.serve(ctx, conn)
		d.setConn(nil, -1)
		d.mu.Lock()
		d.drops = append(d.drops, fmt.Sprintf("%s closed %d", key, conn.CloseCode()))
		d.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		attempt = 1
	}
}

// serve keeps one connection: pull when needed, ack what is held, until it ends or ctx does.
func (d *device) serve(ctx context.Context, conn *client.Conn) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		d.mu.Lock()
		gap := d.gap
		d.mu.Unlock()
		if gap {
			if err := d.pull(ctx); err == nil {
				d.mu.Lock()
				d.gap = false
				d.mu.Unlock()
			}
		}
		d.ackHeld(ctx, conn)
		select {
		case <-ctx.Done():
			conn.Close()
			return
		case <-conn.Done():
			return
		case <-tick.C:
		}
	}
}

func (d *device) setConn(c *client.Conn, edge int) {
	d.mu.Lock()
	d.conn, d.connEdge = c, edge
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

// current returns the live connection, waiting for one.
func (d *device) current(ctx context.Context) (*client.Conn, error) {
	for {
		d.mu.Lock()
		c, ch := d.conn, d.changed
		d.mu.Unlock()
		if c != nil {
			select {
			case <-c.Done():
			default:
				return c, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no connection: %w", d.name, ctx.Err())
		case <-time.After(100 * time.Millisecond): // a dead conn not yet replaced: look again
		}
	}
}

// connectedTo reports the edge of the live connection (-1 none) and how many connections it has had.
func (d *device) connectedTo() (edge, conns int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return -1, d.conns
	}
	return d.connEdge, d.conns
}

func (d *device) onFrame(f events.Frame) {
	if f.Type != events.FrameMessage {
		return
	}
	m, err := client.DecodeMessage(f)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.merge(m) && m.Seq > d.contig[m.ConversationID]+1 {
		d.gap = true // a push skipped seqs: pull the gap
	}
}

// merge keeps m by (conversation, seq); it reports whether m was new. d.mu is held.
func (d *device) merge(m events.Message) bool {
	c := d.held[m.ConversationID]
	if c == nil {
		c = map[int64]events.Message{}
		d.held[m.ConversationID] = c
	}
	if old, ok := c[m.Seq]; ok {
		if old.ID != m.ID {
			d.conflicts = append(d.conflicts, fmt.Sprintf("seq %d of %s is %s and %s", m.Seq, m.ConversationID, old.ID, m.ID))
		}
		return false
	}
	c[m.Seq] = m
	for c[d.contig[m.ConversationID]+1].ID != "" {
		d.contig[m.ConversationID]++
	}
	return true
}

// pull is step 3 of the reconnect algorithm: list the conversations and page what is missing.
func (d *device) pull(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	convs, err := d.u.Conversations(pctx)
	if err != nil {
		return err
	}
	for _, cv := range convs {
		d.mu.Lock()
		after := d.contig[cv.ID]
		d.mu.Unlock()
		for after < cv.LastSeq {
			page, err := d.u.History(pctx, cv.ID, client.HistoryQuery{AfterSeq: after, Limit: 200})
			if err != nil {
				return err
			}
			d.mu.Lock()
			for _, m := range page.Messages {
				if d.merge(m) {
					d.pulled++
				}
			}
			d.mu.Unlock()
			if !page.HasMore || len(page.Messages) == 0 {
				break
			}
			after = page.Messages[len(page.Messages)-1].Seq
		}
	}
	return nil
}

// ackHeld acks, per conversation, the highest seq held contiguously (cumulative), when it moved.
func (d *device) ackHeld(ctx context.Context, conn *client.Conn) {
	d.mu.Lock()
	var todo []events.ReadFrame
	for cid, s := range d.contig {
		if s > d.acked[cid] {
			todo = append(todo, events.ReadFrame{ConversationID: cid, Seq: s})
		}
	}
	d.mu.Unlock()
	for _, a := range todo {
		if err := conn.Ack(ctx, a.ConversationID, a.Seq); err != nil {
			return
		}
		d.mu.Lock()
		d.acked[a.ConversationID] = max(d.acked[a.ConversationID], a.Seq)
		d.mu.Unlock()
	}
}

// holds reports whether the device holds every message of want (conversation -> messages).
func (d *device) holds(want map[string][]events.Message) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for cid, ms := range want {
		for _, m := range ms {
			if d.held[cid][m.Seq].ID != m.ID {
				return false
			}
		}
	}
	return true
}

// verify compares what the device shows with the server's history: the same messages at the
// same seqs, each once, gapless from 1 (so in order when shown by seq), and no conflicting pushes.
func (d *device) verify(hist map[string][]events.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, c := range d.conflicts {
		errs = append(errs, fmt.Errorf("%s: conflicting pushes: %s", d.name, c))
	}
	for cid, ms := range hist {
		held := d.held[cid]
		if len(held) != len(ms) {
			errs = append(errs, fmt.Errorf("%s: holds %d messages of %s, history has %d", d.name, len(held), cid, len(ms)))
		}
		ids := map[string]int64{}
		for _, m := range ms {
			h, ok := held[m.Seq]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s: lacks seq %d (%s) of %s", d.name, m.Seq, m.ID, cid))
			case h.ID != m.ID:
				errs = append(errs, fmt.Errorf("%s: seq %d of %s is %s, history %s", d.name, m.Seq, cid, h.ID, m.ID))
			}
		}
		for s, h := range held {
			if prev, ok := ids[h.ID]; ok {
				errs = append(errs, fmt.Errorf("%s: message %s held at seqs %d and %d", d.name, h.ID, prev, s))
			}
			ids[h.ID] = s
		}
		if d.contig[cid] != int64(len(ms)) {
			errs = append(errs, fmt.Errorf("%s: contiguous up to %d of %s, history has %d", d.name, d.contig[cid], cid, len(ms)))
		}
	}
	return errors.Join(errs...)
}

func (d *device) summary() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Sprintf("%s: %d connections, %d pulled, drops %v", d.name, d.conns, d.pulled, d.drops)
}

// ---- senders that retry with the same client_msg_id ----

// sendStats counts what the senders saw.
type sendStats struct {
	mu       sync.Mutex
	acked    int
	retried  int            // messages that needed more than one attempt
	failures map[string]int // failed attempts by kind
	sent     map[string]bool
	maxTry   int
	slowest  map[string]time.Duration // longest successful attempt, by transport
}

func newSendStats() *sendStats {
	return &sendStats{failures: map[string]int{}, sent: map[string]bool{}, slowest: map[string]time.Duration{}}
}

// failed counts the failed attempts of kinds starting with prefix ("" for all).
func (s *sendStats) failed(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.failures {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (s *sendStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d acked, %d needed retries (max %d attempts), failed attempts %v, slowest answer %v",
		s.acked, s.retried, s.maxTry, s.failures, s.slowest)
}

// failureKind names a failed attempt for the report, and says whether a client retries it.
func failureKind(err error) (string, bool) {
	if code := client.CodeOf(err); code != "" {
		switch code {
		case events.CodeUnavailable, events.CodeInternal, events.CodeRateLimited:
			return "code " + string(code), true
		}
		return "code " + string(code), false
	}
	if st := client.StatusOf(err); st != 0 {
		return "status " + strconv.Itoa(st), st >= 500 || st == http.StatusTooManyRequests || st == http.StatusRequestTimeout
	}
	switch {
	case errors.Is(err, client.ErrClosed):
		return "ws closed", true
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer", true
	}
	return "transport", true
}

// sendReliably sends one message until it gets a success answer, always with the same
// client_msg_id, over WebSocket (viaWS; waiting for the device's next connection after a drop:
// step 4 of the reconnect algorithm) or HTTP.
func sendReliably(ctx context.Context, d *device, convID string, body events.SendMessage, viaWS bool, st *sendStats) (events.Message, error) {
	st.mu.Lock()
	st.sent[body.ClientMsgID] = true
	st.mu.Unlock()
	for attempt := 1; ; attempt++ {
		var m events.Message
		var err error
		how := "http"
		if viaWS {
			how = "ws"
		}
		began := time.Now()
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		if viaWS {
			var conn *client.Conn
			if conn, err = d.current(actx); err == nil {
				m, err = conn.SendMessage(actx, convID, body)
			}
		} else {
			m, err = d.u.SendMessage(actx, convID, body)
		}
		cancel()
		if err == nil {
			st.mu.Lock()
			st.acked++
			if attempt > 1 {
				st.retried++
			}
			st.maxTry = max(st.maxTry, attempt)
			st.slowest[how] = max(st.slowest[how], time.Since(began).Round(time.Millisecond))
			st.mu.Unlock()
			return m, nil
		}
		kind, retry := failureKind(err)
		st.mu.Lock()
		st.failures[how+" "+kind]++
		st.mu.Unlock()
		if !retry || ctx.Err() != nil {
			return m, fmt.Errorf("send %s (attempt %d): %w", body.ClientMsgID, attempt, err)
		}
		if !pollWait(ctx, time.Duration(min(attempt, 10))*100*time.Millisecond) {
			return m, fmt.Errorf("send %s: gave up after %d attempts: %w", body.ClientMsgID, attempt, err)
		}
	}
}

// traffic is the conversation every fault test drives: each device sends in a loop, alternating
// HTTP and WebSocket, until stop; every acknowledged message goes to the ledger.
type traffic struct {
	conv  string
	l     *check.Ledger
	st    *sendStats
	stop  chan struct{}
	wg    sync.WaitGroup
	errMu sync.Mutex
	errs  []error
}

func startTraffic(ctx context.Context, conv string, l *check.Ledger, devs []*device, pace time.Duration) *traffic {
	tr := &traffic{conv: conv, l: l, st: newSendStats(), stop: make(chan struct{})}
	for i, d := range devs {
		tr.wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				body := text(fmt.Sprintf("%s #%d", d.name, n))
				m, err := sendReliably(ctx, d, conv, body, (i+n)%2 == 1, tr.st)
				if err != nil {
					tr.errMu.Lock()
					tr.errs = append(tr.errs, fmt.Errorf("%s: %w", d.name, err))
					tr.errMu.Unlock()
					return
				}
				l.Acked(conv, body.ClientMsgID, m)
				if !pollWait(ctx, pace) {
					return
				}
			}
		})
	}
	return tr
}

// awaitAcked polls until n more messages than before were acknowledged.
func (tr *traffic) awaitAcked(t *testing.T, ctx context.Context, n int, what string) {
	t.Helper()
	want := tr.l.AckedCount() + n
	for tr.l.AckedCount() < want {
		if !pollWait(ctx, 20*time.Millisecond) {
			t.Fatalf("%s: %d of %d messages acknowledged (%s)", what, tr.l.AckedCount(), want, tr.st)
		}
		tr.errMu.Lock()
		errs := errors.Join(tr.errs...)
		tr.errMu.Unlock()
		if errs != nil {
			t.Fatalf("%s: a sender failed: %v", what, errs)
		}
	}
}

// finish stops the senders, waits for their sends in flight (retried to success), and fails on any
// send that never succeeded.
func (tr *traffic) finish(t *testing.T) {
	t.Helper()
	close(tr.stop)
	tr.wg.Wait()
	if err := errors.Join(tr.errs...); err != nil {
		t.Fatalf("senders: %v", err)
	}
	t.Logf("senders: %s", tr.st)
}

// settle waits until every device of one room holds every acknowledged message (by push, or by its
// pulls after reconnects and gaps), then checks each device's view against history and that every
// client_msg_id is stored exactly once; nothingLost then runs the shared checker.
func settle(t *testing.T, ctx context.Context, tr *traffic, devs []*device, us []*user) {
	t.Helper()
	ackedByConv := map[string][]events.Message{}
	hist, err := us[0].AllHistory(ctx, tr.conv)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	// What was acked, from the stored history (the checker compares the two).
	ids := map[string]bool{}
	for _, m := range hist {
		ids[m.ID] = true
	}
	ackedByConv[tr.conv] = hist
	start := time.Now()
	for _, d := range devs {
		for !d.holds(ackedByConv) {
			if !pollWait(ctx, 50*time.Millisecond) {
				for _, d := range devs {
					t.Log(d.summary())
				}
				t.Fatalf("%s does not hold every stored message (%d) by push or pull", d.name, len(hist))
			}
		}
	}
	t.Logf("every device holds all %d messages %s after the senders stopped", len(hist), time.Since(start).Round(time.Millisecond))
	for _, d := range devs {
		t.Log(d.summary())
	}

	var errs []error
	// Stored once: one message per client_msg_id, every one a send of ours, every send stored.
	byClient := map[string]int{}
	for _, m := range hist {
		byClient[m.ClientMsgID]++
	}
	tr.st.mu.Lock()
	for cid, n := range byClient {
		if n != 1 {
			errs = append(errs, fmt.Errorf("client_msg_id %s stored %d times", cid, n))
		}
		if !tr.st.sent[cid] {
			errs = append(errs, fmt.Errorf("stored message with client_msg_id %s that was never sent", cid))
		}
	}
	if len(byClient) != len(tr.st.sent) {
		errs = append(errs, fmt.Errorf("%d distinct client_msg_ids sent, %d stored", len(tr.st.sent), len(byClient)))
	}
	tr.st.mu.Unlock()
	tr.st.mu.Lock()
	acked := tr.st.acked
	tr.st.mu.Unlock()
	if acked != len(hist) {
		errs = append(errs, fmt.Errorf("%d sends acknowledged, %d stored", acked, len(hist)))
	}
	if n := tr.l.AckedIn(tr.conv); n != acked {
		// Each acknowledged send names its own message (the ledger refuses any other answer), so
		// fewer distinct messages than acknowledged sends means answers named others' messages.
		errs = append(errs, fmt.Errorf("%d acknowledged sends answered with %d distinct messages", acked, n))
	}
	for _, d := range devs {
		if err := d.verify(map[string][]events.Message{tr.conv: hist}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

// nothingLost runs the shared checker over everything the scenario's users were told and saw:
// stored, pushed or pullable for every connection, once, in order, every answer its own.
func nothingLost(t *testing.T, ctx context.Context, l *check.Ledger, us []*user) {
	t.Helper()
	rep, err := check.NothingLost(ctx, l, members(us...), check.Options{AllowDuplicatePushes: true})
	if err != nil {
		t.Errorf("nothing-lost check: %v", err)
	}
	t.Logf("nothing-lost: %d acked, %d pushes, %d pulled only, %d duplicate pushes, %d wrong answers",
		rep.Acked, rep.Pushes, rep.PulledOnly, rep.DupPushes, rep.WrongAnswers)
}
