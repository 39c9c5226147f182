// Package supervise runs the platform's child processes (functions, socket-edges, versitygw, Keto):
// each in its own process group so a stop reaches its whole tree, with output prefixed by its name,
// restarted with backoff when it dies unexpectedly (e2e fault tests kill -9 them and expect them
// back), and stopped with SIGTERM then SIGKILL after a timeout.
package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Spec describes one child.
type Spec struct {
	Name string
	Path string
	Args []string
	Env  []string // full environment (nil = inherit)
	Dir  string
	// Restart relaunches the child when it exits without being asked to.
	Restart bool
	// RestartBackoff is the first pause before a restart, doubled on each quick death up to
	// RestartBackoffMax; defaults 200ms and 10s. A child that ran RestartReset (default 30s) starts over.
	RestartBackoff    time.Duration
	RestartBackoffMax time.Duration
	RestartReset      time.Duration
	// StopTimeout is how long a SIGTERMed child gets before SIGKILL; default 10s.
	StopTimeout time.Duration
	// PidFile, when set, holds the current child's pid (rewritten on every restart, removed on
	// Stop): fault-injection tests read it to kill -9 the child.
	PidFile string
}

func (s *Spec) setDefaults() {
	if s.RestartBackoff <= 0 {
		s.RestartBackoff = 200 * time.Millisecond
	}
	if s.RestartBackoffMax <= 0 {
		s.RestartBackoffMax = 10 * time.Second
	}
	if s.RestartReset <= 0 {
		s.RestartReset = 30 * time.Second
	}
	if s.StopTimeout <= 0 {
		s.StopTimeout = 10 * time.Second
	}
}

// Proc is a supervised child.
type Proc struct {
	spec Spec
	out  *LineWriter
	log  *slog.Logger

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current cmd has been waited for
	stopping bool
	restarts int
	done     chan struct{} // closed when supervision ended
}

// Start launches the child. An error means it could not be started at all (missing binary...);
// after that, deaths are handled by restarts.
func Start(spec Spec, out *LineWriter, log *slog.Logger) (*Proc, error) {
	spec.setDefaults()
	p := &Proc{spec: spec, out: out, log: log.With("process", spec.Name), done: make(chan struct{})}
	p.mu.Lock()
	err := p.launchLocked()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	go p.supervise()
	return p, nil
}

// launchLocked starts the child; p.mu is held so Stop sees either this child or stopping first.
func (p *Proc) launchLocked() error {
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = p.spec.Env
	cmd.Dir = p.spec.Dir
	cmd.Stdout = p.out.Prefixed(p.spec.Name)
	cmd.Stderr = cmd.Stdout
	// A grandchild that keeps the output pipe open must not hide the child's death.
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true, // own group: Ctrl-C reaches only the platform, which stops children in order
		// If the platform itself dies (kill -9), the kernel tells the child to stop.
		Pdeathsig: syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.spec.Name, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	p.log.Debug("started", "pid", cmd.Process.Pid)
	if p.spec.PidFile != "" {
		if err := WritePidFile(p.spec.PidFile, cmd.Process.Pid); err != nil {
			p.log.Warn("pid file", "err", err)
		}
	}
	return nil
}

// WritePidFile writes pid to path atomically (a reader never sees a half-written file).
func WritePidFile(path string, pid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (p *Proc) supervise() {
	defer close(p.done)
	backoff := p.spec.RestartBackoff
	for {
		p.mu.Lock()
		cmd, exited := p.cmd, p.exited
		p.mu.Unlock()
		started := time.Now()
		err := cmd.Wait()
		close(exited)
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if stopping {
			return
		}
		p.log.Error("exited unexpectedly", "pid", cmd.Process.Pid, "err", errString(err), "restart", p.spec.Restart)
		if !p.spec.Restart {
			return
		}
		if time.Since(started) > p.spec.RestartReset {
			backoff = p.spec.RestartBackoff
		}
		for {
			time.Sleep(backoff)
			backoff = min(backoff*2, p.spec.RestartBackoffMax)
			p.mu.Lock()
			if p.stopping {
				p.mu.Unlock()
				return
			}
			err := p.launchLocked()
			if err == nil {
				p.restarts++
			}
			n, pid := p.restarts, p.cmd.Process
			p.mu.Unlock()
			if err != nil {
				p.log.Error("restart failed", "err", err)
				continue
			}
			p.log.Info("restarted", "pid", pid.Pid, "restarts", n)
			break
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// Pid is the current child's process id.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Restarts counts relaunches after unexpected exits.
func (p *Proc) Restarts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

// Name of the child.
func (p *Proc) Name() string { return p.spec.Name }

// Stop ends supervision and the child's whole process group: SIGTERM, then SIGKILL after
// StopTimeout (or when ctx ends first).
func (p *Proc) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	pgid := cmd.Process.Pid
	// Negative pid: the whole group, so grandchildren go too.
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.log.Warn("sigterm", "err", err)
	}
	t := time.NewTimer(p.spec.StopTimeout)
	defer t.Stop()
	var err error
	select {
	case <-exited:
	case <-t.C:
		err = fmt.Errorf("%s ignored SIGTERM for %v: killed", p.spec.Name, p.spec.StopTimeout)
	case <-ctx.Done():
		err = fmt.Errorf("%s: %w: killed", p.spec.Name, ctx.Err())
	}
	// Whatever the leader did, leave nothing of its group behind.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
	if p.spec.PidFile != "" {
		_ = os.Remove(p.spec.PidFile)
	}
	return err
}

// LineWriter serializes whole lines from many children onto one writer, each prefixed by its
// child's name, so concurrent output never interleaves mid-line.
type LineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLineWriter writes to w (os.Stderr when nil).
func NewLineWriter(w io.Writer) *LineWriter {
	if w == nil {
		w = os.Stderr
	}
	return &LineWriter{w: w}
}

// Prefixed returns a writer whose complete lines go out prefixed with "name | ". It is meant for
// one child's output (exec writes to it from one goroutine).
func (lw *LineWriter) Prefixed(name string) io.Writer { return &prefixWriter{lw: lw, name: name} }

type prefixWriter struct {
	lw   *LineWriter
	name string
	buf  []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.emit(p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) > 64<<10 { // a runaway line without newline: flush it rather than grow
		p.emit(p.buf)
		p.buf = p.buf[:0]
	}
	return len(b), nil
}

func (p *prefixWriter) emit(line []byte) {
	p.lw.mu.Lock()
	fmt.Fprintf(p.lw.w, "%-14s| %s\n", p.name, line)
	p.lw.mu.Unlock()
}
