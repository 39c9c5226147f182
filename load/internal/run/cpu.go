package run

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/load/internal/report"
)

// CPU per message: what each process of the path spends on one acknowledged message, from the
// user+system time Linux accounts to it (/proc/<pid>/stat). The processes: every platform child
// with a pid file in DATA_DIR/run (platform, functions, each edge, keto, versitygw), PostgreSQL and
// Redis (every process of that name: their backends are per connection, not children of ours), and
// this tool. Run it on an otherwise quiet machine: PostgreSQL and Redis serve whatever else runs.

// cpuSnapshot is, per measured process name, the CPU time used so far by each of its pids.
type cpuSnapshot map[string]map[int]time.Duration

// takeCPU reads the CPU time of the platform's processes (pid files in runDir), PostgreSQL, Redis
// and this process. A process that cannot be read (gone between listing and reading) is left out.
func takeCPU(runDir string, tick time.Duration) cpuSnapshot {
	s := cpuSnapshot{}
	add := func(name string, pid int) {
		if d, err := procCPU(pid, tick); err == nil {
			if s[name] == nil {
				s[name] = map[int]time.Duration{}
			}
			s[name][pid] = d
		}
	}
	if pids, err := readPidFiles(runDir); err == nil {
		for name, pid := range pids {
			add(name, pid)
		}
	}
	add("load", os.Getpid())
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(string(comm)) { // measured by command name
		case "postgres":
			add("postgres", pid)
		case "redis-server":
			add("redis", pid)
		}
	}
	return s
}

// cpuUsed is, per name, the CPU time its processes used between before and after: a pid present
// only in after (a new backend, a restarted child) counts whole; one gone by after is not seen.
func cpuUsed(before, after cpuSnapshot) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pids := range after {
		var d time.Duration
		for pid, t := range pids {
			d += t - before[name][pid]
		}
		out[name] = d
	}
	return out
}

// setCPUFigures writes cpu_us_per_msg.<name> (and .total) for msgs messages, and cpu_window_s.
func setCPUFigures(r *report.Report, used map[string]time.Duration, msgs int, window time.Duration) {
	if msgs <= 0 {
		return
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	var total time.Duration
	for _, n := range names {
		total += used[n]
		r.Set("cpu_us_per_msg."+n, float64(used[n].Microseconds())/float64(msgs))
	}
	r.Set("cpu_us_per_msg.total", float64(total.Microseconds())/float64(msgs))
	r.Set("cpu_window_s", window.Seconds())
}

// procCPU is utime+stime of pid.
func procCPU(pid int, tick time.Duration) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return StatCPU(string(b), tick)
}

// StatCPU reads utime+stime (fields 14 and 15, in clock ticks) of a /proc/<pid>/stat line. The
// command name (field 2) is in parentheses and may hold spaces or parentheses: fields are counted
// from the last ')'.
func StatCPU(stat string, tick time.Duration) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	return time.Duration(u+s) * tick, nil
}

// clockTick is the length of one clock tick of /proc/<pid>/stat: AT_CLKTCK from this process's
// auxiliary vector (sysconf(_SC_CLK_TCK) without cgo); 10 ms, Linux's usual USER_HZ, if unreadable.
func clockTick() time.Duration {
	b, err := os.ReadFile("/proc/self/auxv")
	if err == nil {
		if hz := AuxvValue(b, 17); hz > 0 { // AT_CLKTCK
			return time.Second / time.Duration(hz)
		}
	}
	return 10 * time.Millisecond
}

// AuxvValue returns the value of key in a 64-bit little-endian auxiliary vector, 0 when absent.
func AuxvValue(auxv []byte, key uint64) uint64 {
	for i := 0; i+16 <= len(auxv); i += 16 {
		k, v := binary.LittleEndian.Uint64(auxv[i:]), binary.LittleEndian.Uint64(auxv[i+8:])
		if k == key {
			return v
		}
		if k == 0 { // AT_NULL ends the vector
			break
		}
	}
	return 0
}
