package run

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file reads what the connect and soak modes measure of the platform's processes, all from
// Linux's /proc (the tool runs on the same machine as the platform; loopback only): resident
// memory, the pids the platform writes to DATA_DIR/run/<name>.pid, and the TCP ports a process
// listens on, which map an edge URL to its pid and find a process's /metrics.

// rssKB is VmRSS of pid in kB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	kb, ok := VmRSS(string(b))
	if !ok {
		return 0, fmt.Errorf("pid %d: no VmRSS", pid)
	}
	return kb, nil
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

// readPidFiles returns name -> pid of every <name>.pid in dir (the platform's DATA_DIR/run).
func readPidFiles(dir string) (map[string]int, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.pid"))
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a child between restarts: its file comes back on the next sample
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		out[strings.TrimSuffix(filepath.Base(p), ".pid")] = pid
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no pid files in %s", dir)
	}
	return out, nil
}

// listenPorts returns the loopback-reachable TCP ports pid listens on, ascending: the listening
// sockets of /proc/<pid>/net/tcp{,6} whose inode is one of the process's open files. Wildcard
// listeners count (they answer on loopback too); sockets bound to another address do not.
func listenPorts(pid int) ([]int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(in, "]")] = true
		}
	}
	seen := map[int]bool{}
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		for _, p := range parseListeners(string(b), inodes) {
			seen[p] = true
		}
	}
	ports := make([]int, 0, len(seen))
	for p := range seen {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	return ports, nil
}

// parseListeners reads a /proc/net/tcp{,6} table: the ports of LISTEN sockets (st 0A) owned by one
// of inodes and bound to a loopback or wildcard address.
func parseListeners(table string, inodes map[string]bool) []int {
	var ports []int
	sc := bufio.NewScanner(strings.NewReader(table))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
			continue
		}
		host, port, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			continue
		}
		if ip := procIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
			ports = append(ports, int(p))
		}
	}
	return ports
}

// procIP decodes /proc/net/tcp's address: hex of the address in host byte order, 32-bit words
// (little-endian machines: each 4-byte word reversed).
func procIP(h string) net.IP {
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return nil
	}
	ip := make(net.IP, len(b))
	for w := 0; w < len(b); w += 4 {
		ip[w], ip[w+1], ip[w+2], ip[w+3] = b[w+3], b[w+2], b[w+1], b[w]
	}
	return ip
}

// findMetric returns the first URL among pid's listeners that exposes metric, or "" when none does.
func findMetric(ctx context.Context, hc *http.Client, pid int, metric string) (string, error) {
	ports, err := listenPorts(pid)
	if err != nil {
		return "", err
	}
	for _, p := range ports {
		// Parley's processes serve /metrics; Ory Keto serves /metrics/prometheus on its metrics port.
		for _, path := range []string{"/metrics", "/metrics/prometheus"} {
			u := "http://127.0.0.1:" + strconv.Itoa(p) + path
			if _, err := scrapeMetric(ctx, hc, u, metric); err == nil {
				return u, nil
			}
		}
	}
	return "", nil
}

// scrapeMetric reads one unlabelled sample from a Prometheus text endpoint.
func scrapeMetric(ctx context.Context, hc *http.Client, u, metric string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, err
	}
	return metricFloat(string(b), metric)
}

// MetricValue reads an unlabelled sample from a Prometheus text exposition, as an integer.
func MetricValue(text, name string) (int64, error) {
	v, err := metricFloat(text, name)
	return int64(v), err
}

func metricFloat(text, name string) (float64, error) {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, errors.New(name + " not exposed")
}
