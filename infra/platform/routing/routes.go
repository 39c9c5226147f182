package routing

import (
	"fmt"
	"net/http"
	"path"
	"strings"
)

// Route is one parsed "[METHOD ]PATH" pattern (syntax in values.yaml's header).
type Route struct {
	Method   string   // "" = any method
	Segments []string // literal segments, or "*" for any one segment
	Slash    bool     // pattern ended in "/": the bare path itself does not match
	Pattern  string
}

// ParseRoute parses a route pattern.
func ParseRoute(s string) (Route, error) {
	r := Route{Pattern: s}
	p := strings.TrimSpace(s)
	if m, rest, ok := strings.Cut(p, " "); ok {
		r.Method, p = strings.ToUpper(m), strings.TrimSpace(rest)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
			http.MethodDelete, http.MethodOptions:
		default:
			return Route{}, fmt.Errorf("route %q: unknown method %q", s, m)
		}
	}
	if !strings.HasPrefix(p, "/") {
		return Route{}, fmt.Errorf("route %q: path must start with /", s)
	}
	r.Slash = strings.HasSuffix(p, "/") && p != "/"
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg != "" {
			r.Segments = append(r.Segments, seg)
		}
	}
	return r, nil
}

// Match reports whether method and the already split path segments match r.
func (r Route) match(method string, segs []string, trailingSlash bool) bool {
	if r.Method != "" && r.Method != method && (r.Method != http.MethodGet || method != http.MethodHead) {
		return false
	}
	if len(segs) < len(r.Segments) {
		return false
	}
	if r.Slash && len(segs) == len(r.Segments) && !trailingSlash {
		return false
	}
	for i, s := range r.Segments {
		if s != "*" && s != segs[i] {
			return false
		}
	}
	return true
}

// specificity orders matches: more literal segments, then more segments, then a method.
func (r Route) specificity() [3]int {
	lit := 0
	for _, s := range r.Segments {
		if s != "*" {
			lit++
		}
	}
	m := 0
	if r.Method != "" {
		m = 1
	}
	return [3]int{lit, len(r.Segments), m}
}

// Table maps routes to targets (a function name, or "socket-edge").
type Table struct {
	entries []tableEntry
}

type tableEntry struct {
	route  Route
	target string
}

// Add registers pattern for target.
func (t *Table) Add(pattern, target string) error {
	r, err := ParseRoute(pattern)
	if err != nil {
		return err
	}
	for _, e := range t.entries {
		if e.route.Method == r.Method && e.route.Slash == r.Slash &&
			strings.Join(e.route.Segments, "/") == strings.Join(r.Segments, "/") {
			return fmt.Errorf("route %q of %s duplicates %q of %s", pattern, target, e.route.Pattern, e.target)
		}
	}
	t.entries = append(t.entries, tableEntry{route: r, target: target})
	return nil
}

// Lookup returns the target of the most specific route matching method and urlPath.
func (t *Table) Lookup(method, urlPath string) (target string, ok bool) {
	clean := path.Clean("/" + urlPath)
	segs := strings.Split(strings.Trim(clean, "/"), "/")
	if clean == "/" {
		segs = nil
	}
	trailing := strings.HasSuffix(urlPath, "/") && clean != "/"
	var best *tableEntry
	for i := range t.entries {
		e := &t.entries[i]
		if !e.route.match(method, segs, trailing) {
			continue
		}
		if best == nil || less(best.route.specificity(), e.route.specificity()) {
			best = e
		}
	}
	if best == nil {
		return "", false
	}
	return best.target, true
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// EdgeTarget is the Table target for the socket-edge routes.
const EdgeTarget = "socket-edge"

// RouteTable builds the gateway's table from the values.
func (v *Values) RouteTable() (*Table, error) {
	t := &Table{}
	for _, f := range v.Functions {
		for _, r := range f.Routes {
			if err := t.Add(r, f.Name); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range v.SocketEdge.Routes {
		if err := t.Add(r, EdgeTarget); err != nil {
			return nil, err
		}
	}
	return t, nil
}
