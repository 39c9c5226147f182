package run

import (
	"strings"
	"testing"
	"time"
)

func common() Common {
	return Common{Gateway: "http://127.0.0.1:8080", Edges: []string{"ws://127.0.0.1:8090/v1/ws"}, RunID: "r1", Password: "load-password", SetupConcurrency: 8}
}

func TestCheckTarget(t *testing.T) {
	ok := []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.3.4.5"}
	for _, u := range ok {
		if err := CheckTarget(u, false, "http"); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	bad := []string{"http://10.0.0.1:8080", "http://192.168.1.1", "http://example.com", "http://gateway.parley.svc", "ftp://127.0.0.1", "127.0.0.1:8080", "http://0.0.0.0:80"}
	for _, u := range bad {
		if err := CheckTarget(u, false, "http"); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := CheckTarget("http://gateway.parley.svc:8080", true, "http"); err != nil {
		t.Errorf("remote allowed: %v", err)
	}
}

func TestValidate(t *testing.T) {
	cc := ConnectConfig{Common: common(), Conns: 100, Users: 10, PerWorker: 50, Sources: 2, Rate: 100, Hold: time.Second, PingInterval: 5 * time.Second}
	if err := cc.Validate(); err != nil || cc.Workers() != 2 {
		t.Fatalf("valid connect: %v workers %d", err, cc.Workers())
	}
	cc.Conns, cc.PerWorker = 60_000, 1000
	if err := cc.Validate(); err == nil || !strings.Contains(err.Error(), "workers") {
		t.Fatalf("60 workers accepted: %v", err)
	}
	cc = ConnectConfig{Common: common(), Conns: 100, Users: 200, PerWorker: 50_000, Sources: 0, Rate: 0, PingInterval: 500 * time.Millisecond}
	err := cc.Validate()
	for _, want := range []string{"-users", "-per-worker", "-sources", "-rate", "-ping-interval"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %s in %v", want, err)
		}
	}

	// Ping rounds: need pings, and a hold long enough for them.
	cc = ConnectConfig{Common: common(), Conns: 10, Users: 10, PerWorker: 10, Sources: 1, Rate: 10, Hold: 30 * time.Second, PingInterval: 10 * time.Second, PingRounds: 2}
	if err := cc.Validate(); err != nil {
		t.Fatalf("2 rounds of 10s in a 30s hold: %v", err)
	}
	cc.Hold = 29 * time.Second
	if err := cc.Validate(); err == nil || !strings.Contains(err.Error(), "-hold") {
		t.Fatalf("short hold accepted: %v", err)
	}
	cc.Hold, cc.PingInterval = time.Minute, 0
	if err := cc.Validate(); err == nil || !strings.Contains(err.Error(), "-ping-rounds needs") {
		t.Fatalf("rounds without pings accepted: %v", err)
	}
	cc.PingRounds = 0
	if err := cc.Validate(); err != nil {
		t.Fatalf("idle (no pings) refused: %v", err)
	}

	ch := ChatConfig{Common: common(), Users: 10, Convs: 5, Rate: 10, Duration: time.Second, Transport: "ws"}
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	ch.Convs, ch.Transport, ch.Duration = 6, "grpc", 2*time.Hour
	err = ch.Validate()
	for _, want := range []string{"-convs", "-transport", "-duration"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %s in %v", want, err)
		}
	}

	fo := FanoutConfig{Common: common(), Members: 5000, Messages: 5, Grace: 10 * time.Second}
	if err := fo.Validate(); err != nil {
		t.Fatal(err)
	}
	fo.Members = 20_000
	if fo.Validate() == nil {
		t.Fatal("20k members accepted")
	}

	c := common()
	c.RunID, c.Gateway = "Bad-Run", "http://10.1.2.3"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "-run") || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("%v", err)
	}
}

func TestMemoryParsers(t *testing.T) {
	status := "Name:\tsocket-edge\nVmPeak:\t  900 kB\nVmRSS:\t   123456 kB\nThreads: 9\n"
	if v, ok := VmRSS(status); !ok || v != 123456 {
		t.Fatalf("VmRSS %d %v", v, ok)
	}
	if _, ok := VmRSS("Name: x\n"); ok {
		t.Fatal("VmRSS without the line")
	}
	text := "# HELP process_resident_memory_bytes x\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2345e+08\nprocess_resident_memory_bytes_other 1\n"
	if v, err := MetricValue(text, "process_resident_memory_bytes"); err != nil || v != 123450000 {
		t.Fatalf("metric %d %v", v, err)
	}
	if _, err := MetricValue("", "process_resident_memory_bytes"); err == nil {
		t.Fatal("missing metric accepted")
	}
}

func TestUsername(t *testing.T) {
	// The longest run id and a six-digit index stay within API.md's 32 characters of [a-z0-9_.].
	u := Username("abcdefghijkl", 999999)
	if len(u) > 32 || strings.Trim(u, "abcdefghijklmnopqrstuvwxyz0123456789_.") != "" {
		t.Fatalf("%q", u)
	}
}
