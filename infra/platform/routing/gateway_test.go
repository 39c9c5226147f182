package routing_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-im/parley/infra/platform/routing"
	"github.com/parley-im/parley/infra/webui"
)

// gwMatch is one rendered HTTPRouteMatch and where its rule sends the request.
type gwMatch struct {
	kind, value, method, target string
	re                          *regexp.Regexp
}

func (m gwMatch) matches(method, path string) bool {
	if m.method != "" && m.method != method {
		return false
	}
	switch m.kind {
	case "PathPrefix":
		// Gateway API prefixes match whole path elements: /v1/users matches /v1/users and
		// /v1/users/me, never /v1/usersx.
		return m.value == "/" || path == m.value || strings.HasPrefix(path, m.value+"/")
	case "RegularExpression":
		return m.re.MatchString(path)
	case "Exact":
		return path == m.value
	}
	return false
}

// gatewayLookup picks the rule a Gateway API implementation picks: Exact, then RegularExpression
// (implementation-specific: Envoy Gateway and Istio rank them before prefixes; docs/deploy.md), then
// the longest PathPrefix, then a method match over none.
func gatewayLookup(ms []gwMatch, method, path string) (string, bool) {
	rank := func(m gwMatch) [3]int {
		k := map[string]int{"Exact": 3, "RegularExpression": 2, "PathPrefix": 1}[m.kind]
		l := 0
		if m.kind == "PathPrefix" {
			l = len(m.value)
		}
		meth := 0
		if m.method != "" {
			meth = 1
		}
		return [3]int{k, l, meth}
	}
	best, found := gwMatch{}, false
	for _, m := range ms {
		if !m.matches(method, path) {
			continue
		}
		r, br := rank(m), rank(best)
		if !found || r[0] > br[0] || (r[0] == br[0] && (r[1] > br[1] || (r[1] == br[1] && r[2] > br[2]))) {
			best, found = m, true
		}
	}
	return best.target, found
}

// webTarget stands for the web client: the chart's web Service, the local gateway's web handler.
const webTarget = "web"

// localGateway is where infra/platform's gateway sends a request: the route table, else the web
// client for a GET or HEAD outside the API's path spaces (isWebPath), else its own 404.
func localGateway(tab *routing.Table, method, path string) (string, bool) {
	if target, ok := tab.Lookup(method, path); ok {
		return target, true
	}
	if (method == "GET" || method == "HEAD") && !webui.IsAPIPath(path) {
		return webTarget, true
	}
	return "", false
}

// TestGatewayRoutesAgreeWithTheLocalGateway renders the chart with the production values (Gateway
// on) and checks that, for every route pattern of values.yaml, sample paths under it and the web
// client's paths, the HTTPRoutes send the request where the local platform's gateway does. A
// request the Gateway gives the web client on an API path counts as unrouted: parley-web answers it
// 404 as the local gateway does (infra/webui's tests hold it to that).
func TestGatewayRoutesAgreeWithTheLocalGateway(t *testing.T) {
	docs := renderChart(t, "values-production.yaml")
	routes := byKind(docs, "HTTPRoute")
	if len(routes) != 2 {
		t.Fatalf("want the api and ws HTTPRoutes, got %d", len(routes))
	}
	var ms []gwMatch
	for name, r := range routes {
		rules, _ := dig(r, "spec", "rules").([]any)
		for _, rule := range rules {
			target := ""
			if name == "parley-ws" {
				target = routing.EdgeTarget
				if got := dig(rule, "timeouts", "request"); got != "0s" {
					t.Errorf("WebSocket route request timeout = %v, want 0s (none)", got)
				}
			} else {
				// Functions and the web client alike: through Knative's internal ingress.
				host := fmt.Sprint(dig(rule, "filters", 0, "urlRewrite", "hostname"))
				target, _, _ = strings.Cut(host, ".")
				if !strings.HasSuffix(host, ".parley.svc.cluster.local") {
					t.Errorf("rule rewrites Host to %q, want <service>.parley.svc.cluster.local", host)
				}
			}
			for _, m := range dig(rule, "matches").([]any) {
				gm := gwMatch{kind: fmt.Sprint(dig(m, "path", "type")), value: fmt.Sprint(dig(m, "path", "value")),
					target: target}
				if meth := dig(m, "method"); meth != nil {
					gm.method = fmt.Sprint(meth)
				}
				if gm.kind == "RegularExpression" {
					gm.re = regexp.MustCompile(gm.value)
				}
				ms = append(ms, gm)
			}
		}
	}
	v := chartValues(t)
	tab, err := v.RouteTable()
	if err != nil {
		t.Fatal(err)
	}
	// Sample requests: every pattern itself (with "*" filled in), a path below it, other methods.
	var paths []string
	for _, f := range v.Functions {
		for _, r := range f.Routes {
			_, p, ok := strings.Cut(r, " ")
			if !ok {
				p = r
			}
			p = strings.ReplaceAll(strings.TrimSuffix(p, "/"), "*", "id1")
			paths = append(paths, p, p+"/x", p+"/x/y")
		}
	}
	paths = append(paths, "/v1/ws", "/v1/usersx", "/v1/conversations/c1/members", "/v1/conversations/c1/messages/m1")
	// The web client's paths, and API paths no route takes (web on the Gateway, then 404).
	paths = append(paths, "/", "/index.html", "/chats/c1", "/assets/index-abc123.js", "/favicon.svg",
		"/v1", "/v1/", "/v1/nothing", "/v1/nothing/x", "/.well-known/nothing", "/v1x", "/v10/x")
	// Gateway API ignores a prefix's trailing slash: "/v1/auth/" also matches "/v1/auth" itself,
	// which the local gateway answers 404 and the Gateway sends to identity (which answers 404).
	// That is the one difference allowed.
	bare := map[string]string{}
	for _, f := range v.Functions {
		for _, r := range f.Routes {
			if strings.HasSuffix(r, "/") && !strings.Contains(r, " ") {
				bare[strings.TrimSuffix(r, "/")] = f.Name
			}
		}
	}
	web := 0
	for _, m := range ms {
		if m.target == webTarget {
			web++
		}
	}
	if web == 0 {
		t.Error("no HTTPRoute rule sends anything to the web client")
	}
	// The Host rewrite reaches a Knative Service only through the internal ingress when the
	// Service is cluster-local, as every routed function is with the Gateway on.
	for name, svc := range byKind(docs, "Service") {
		if svc["apiVersion"] == "serving.knative.dev/v1" &&
			dig(svc, "metadata", "labels", "networking.knative.dev/visibility") != "cluster-local" {
			t.Errorf("Knative Service %s is not cluster-local with the Gateway on", name)
		}
	}
	n := 0
	for _, p := range paths {
		for _, method := range []string{"GET", "HEAD", "POST", "PATCH", "DELETE"} {
			want, wok := localGateway(tab, method, p)
			got, gok := gatewayLookup(ms, method, p)
			if got == webTarget && webui.IsAPIPath(p) {
				got, gok = "", false // parley-web's 404
			}
			if !wok && gok && bare[p] == got {
				continue
			}
			if wok != gok || want != got {
				t.Errorf("%s %s: gateway -> %q (%v), local gateway -> %q (%v)", method, p, got, gok, want, wok)
			}
			n++
		}
	}
	t.Logf("%d requests routed alike", n)
}
