package platform

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"

	"github.com/parley-im/parley/infra/platform/routing"
	"github.com/parley-im/parley/infra/webui"
)

// gateway is the stand-in for the cluster's ingress + Knative routing: it proxies each request to
// the function whose route in values.yaml matches best, and /v1/ws to the socket-edges in turn.
type gateway struct {
	table *routing.Table
	// upstream is the proxies' one connection pool. http.DefaultTransport keeps 2 idle connections
	// per host, so above 2 concurrent requests to a function every request opened and closed a TCP
	// connection of its own (an ingress pools them).
	upstream *http.Transport
	fns      map[string]*httputil.ReverseProxy
	edges    []*httputil.ReverseProxy
	next     atomic.Uint64
	log      *slog.Logger
	running  func(name string) bool
	// web serves the browser client on GET paths no route takes (outside /v1/ and /.well-known/).
	web http.Handler
}

func newGateway(table *routing.Table, fnAddrs map[string]string, edgeAddrs []string, running func(string) bool,
	log *slog.Logger) (*gateway, error) {
	up := http.DefaultTransport.(*http.Transport).Clone()
	up.MaxIdleConns, up.MaxIdleConnsPerHost = 0, 256 // 0: no overall cap
	g := &gateway{table: table, upstream: up, fns: map[string]*httputil.ReverseProxy{}, log: log, running: running}
	for name, addr := range fnAddrs {
		rp, err := g.proxy(name, addr)
		if err != nil {
			return nil, err
		}
		g.fns[name] = rp
	}
	for i, addr := range edgeAddrs {
		rp, err := g.proxy(fmt.Sprintf("edge-%d", i), addr)
		if err != nil {
			return nil, err
		}
		g.edges = append(g.edges, rp)
	}
	return g, nil
}

func (g *gateway) proxy(name, addr string) (*httputil.ReverseProxy, error) {
	u, err := url.Parse("http://" + addr)
	if err != nil {
		return nil, err
	}
	return &httputil.ReverseProxy{
		Transport: g.upstream,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host // as an ingress does: the function sees the public host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.log.Warn("gateway: upstream failed", "target", name, "path", r.URL.Path, "err", err)
			problem(w, http.StatusServiceUnavailable, "unavailable", name+" is not reachable")
		},
	}, nil
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, ok := g.table.Lookup(r.Method, r.URL.Path)
	if !ok && g.web != nil && isWebPath(r) {
		g.web.ServeHTTP(w, r)
		return
	}
	if !ok {
		problem(w, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path)
		return
	}
	if target == routing.EdgeTarget {
		if len(g.edges) == 0 {
			problem(w, http.StatusServiceUnavailable, "unavailable", "no socket-edge is running")
			return
		}
		g.edges[g.next.Add(1)%uint64(len(g.edges))].ServeHTTP(w, r)
		return
	}
	rp, ok := g.fns[target]
	if !ok || !g.running(target) {
		problem(w, http.StatusServiceUnavailable, "unavailable", "function "+target+" is not running (not built?)")
		return
	}
	rp.ServeHTTP(w, r)
}

// isWebPath reports whether r is for the web client: a GET or HEAD outside the API's path spaces,
// which keep answering problems (404 for an unknown route).
func isWebPath(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return !webui.IsAPIPath(r.URL.Path)
}

// problem writes an application/problem+json error as the API defines it.
func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "code": code, "detail": detail,
	})
}
