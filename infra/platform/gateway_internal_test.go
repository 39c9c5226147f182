package platform

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parley-im/parley/infra/platform/routing"
)

// TestGatewayReusesUpstreamConnections: 400 requests, 16 at a time, through the gateway to one
// function open at most about 16 connections to it. With http.DefaultTransport (2 idle per host)
// every request beyond the second concurrent one opened a connection of its own.
func TestGatewayReusesUpstreamConnections(t *testing.T) {
	var opened atomic.Int64
	fn := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	fn.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	fn.Start()
	defer fn.Close()

	table := &routing.Table{}
	if err := table.Add("POST /v1/messages", "send"); err != nil {
		t.Fatal(err)
	}
	gw, err := newGateway(table, map[string]string{"send": strings.TrimPrefix(fn.URL, "http://")}, nil,
		func(string) bool { return true }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	const requests, concurrency = 400, 16
	var wg sync.WaitGroup
	next := make(chan int)
	for range concurrency {
		wg.Go(func() {
			for range next {
				resp, err := client.Post(front.URL+"/v1/messages", "application/json", strings.NewReader(`{}`))
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(body) != "/v1/messages" {
					t.Errorf("status %d body %q", resp.StatusCode, body)
				}
			}
		})
	}
	for i := range requests {
		next <- i
	}
	close(next)
	wg.Wait()
	if n := opened.Load(); n > concurrency+4 {
		t.Fatalf("%d upstream connections for %d requests, %d at a time; want them reused", n, requests, concurrency)
	}
}
