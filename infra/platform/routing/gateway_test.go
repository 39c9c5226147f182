package routing_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-im/parley/infra/platform/routing"
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

// TestGatewayRoutesAgreeWithTheLocalGateway renders the chart with the production values (Gateway
// on) and checks that, for every route pattern of values.yaml and sample paths under it, the
// HTTPRoutes send the request where the local platform's gateway (routing.Table) does.
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
				host := fmt.Sprint(dig(rule, "filters", 0, "urlRewrite", "hostname"))
				target, _, _ = strings.Cut(host, ".")
				if !strings.HasSuffix(host, ".parley.svc.cluster.local") {
					t.Errorf("rule rewrites Host to %q, want <function>.parley.svc.cluster.local", host)
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
	n := 0
	for _, p := range paths {
		for _, method := range []string{"GET", "POST", "PATCH", "DELETE"} {
			want, wok := tab.Lookup(method, p)
			got, gok := gatewayLookup(ms, method, p)
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
