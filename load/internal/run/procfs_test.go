package run

import (
	"errors"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley/load/internal/report"
)

func TestParseListeners(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F9A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F9B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 102 1 0000000000000000 100 0 0 10 0
   2: 0A00000A:1F9C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 103 1 0000000000000000 100 0 0 10 0
   3: 0100007F:1F9D 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 104 1 0000000000000000 100 0 0 10 0
   4: 0100007F:1F9E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0
`
	ours := map[string]bool{"101": true, "102": true, "103": true, "104": true}
	// 8090 on 127.0.0.1 and 8091 on 0.0.0.0 count; 10.0.0.10, an established socket and a socket of
	// another process do not.
	if got := parseListeners(table, ours); !slices.Equal(got, []int{8090, 8091}) {
		t.Fatalf("ports %v", got)
	}
	tcp6 := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 105 1 0000000000000000 100 0 0 10 0
`
	if got := parseListeners(tcp6, map[string]bool{"105": true}); !slices.Equal(got, []int{8080}) {
		t.Fatalf("tcp6 ports %v", got)
	}
}

func TestListenPortsOfThisProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ports, err := listenPorts(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if want := ln.Addr().(*net.TCPAddr).Port; !slices.Contains(ports, want) {
		t.Fatalf("port %d not among %v", want, ports)
	}
	if kb, err := rssKB(os.Getpid()); err != nil || kb <= 0 {
		t.Fatalf("rss %d %v", kb, err)
	}
}

func TestEdgeMatch(t *testing.T) {
	base := ConnectConfig{Common: common(), Hold: time.Second}
	base.Edges = []string{"ws://127.0.0.1:8090/v1/ws", "ws://127.0.0.1:8091/v1/ws"}
	ports := func(pid int) ([]int, error) {
		switch pid {
		case 11:
			return []int{8091, 9000}, nil
		case 12:
			return []int{8090}, nil
		case 13:
			return []int{8091}, nil
		}
		return nil, errors.New("no such process")
	}
	c := base
	c.EdgePIDs = []int{11, 12}
	if m := newEdgeMem(c, ports); m.match != "ports" || !slices.Equal(m.byEdge, []int{12, 11}) {
		t.Fatalf("by ports: %s %v", m.match, m.byEdge)
	}
	c.EdgePIDs = []int{21, 22} // ports unreadable: one pid per edge, in order
	if m := newEdgeMem(c, ports); m.match != "order" || !slices.Equal(m.byEdge, []int{21, 22}) {
		t.Fatalf("by order: %s %v", m.match, m.byEdge)
	}
	c.EdgePIDs = []int{11, 13, 12} // two pids on 8091: no guess, and not one pid per edge
	if m := newEdgeMem(c, ports); m.match != "none" || m.byEdge != nil {
		t.Fatalf("ambiguous: %s %v", m.match, m.byEdge)
	}
}

// TestEdgeMemReport: per connection = (RSS at the stage - RSS before the ramp) / connections, summed
// over the edges and per edge, idle and after each round.
func TestEdgeMemReport(t *testing.T) {
	c := ConnectConfig{Common: common(), EdgePIDs: []int{11, 12}}
	c.Edges = []string{"ws://127.0.0.1:8090/v1/ws", "ws://127.0.0.1:8091/v1/ws"}
	m := edgeMem{c: c, byEdge: []int{11, 12}, match: "ports"}
	stages := []memSample{
		{sumKB: 60_000, edgeKB: []int64{30_000, 30_000}},    // before
		{sumKB: 250_000, edgeKB: []int64{125_000, 125_000}}, // idle: 10,000 connections each, 9.5 KB
		{sumKB: 380_000, edgeKB: []int64{190_000, 190_000}}, // round 1
		{sumKB: 406_000, edgeKB: []int64{203_000, 203_000}}, // round 2: 17.3 KB
	}
	r := report.New("connect", "r", time.Now())
	m.report(r, stages, 20_000, []int{10_000, 10_000})
	for name, want := range map[string]float64{
		"rss_per_conn_kb": 9.5, "rss_per_conn_kb_round1": 16, "rss_per_conn_kb_round2": 17.3, "rss_per_conn_kb_pinged": 17.3,
		"edge0_rss_per_conn_kb": 9.5, "edge1_rss_per_conn_kb_round2": 17.3, "edge_rss_before_kb": 60_000,
	} {
		if got := r.Metrics[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if es := r.Details["edges"].([]edgeFigures); len(es) != 2 || es[1].PID != 12 || len(es[1].PerConnRoundsKB) != 2 {
		t.Fatalf("%+v", es)
	}
}
