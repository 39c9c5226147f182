package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/parley-im/parley/infra/keto"
)

// RulesFile is the access rules file (infra/platform/rules.yaml; a ConfigMap in the cluster):
//
//	public:                      # routes served without a token: "METHOD /path", "/path/*" = prefix
//	  - POST /v1/auth/login
//	  - GET /.well-known/*
//	rules:                       # every matching rule must pass
//	  - name: system-admin
//	    methods: ["*"]           # default: every method
//	    path: ^/v1/admin/        # regexp on the URL path; named groups feed the object template
//	    require: Role:admin#members          # Namespace:object#relation; object may use {group}
//	    on_outage: fail_closed   # or fallback (PostgreSQL roles); default fail_closed for Role/System
//	    on_deny: forbidden       # or not_found (conversations: a stranger must not learn it exists)
//	    allow_self: user_id      # skip the rule when this group equals the caller (leaving a group)
type RulesFile struct {
	Public []string   `json:"public"`
	Rules  []RuleSpec `json:"rules"`
}

// RuleSpec is one rule as written in the file.
type RuleSpec struct {
	Name      string   `json:"name"`
	Methods   []string `json:"methods"`
	Path      string   `json:"path"`
	Require   string   `json:"require"`
	OnOutage  string   `json:"on_outage"`
	OnDeny    string   `json:"on_deny"`
	AllowSelf string   `json:"allow_self"`
}

type publicRoute struct {
	method, path string
	prefix       bool
}

type rule struct {
	name                        string
	methods                     map[string]bool // nil: all
	re                          *regexp.Regexp
	namespace, object, relation string
	onOutage                    OnOutage
	notFound                    bool
	allowSelf                   string
}

type compiledRules struct {
	public []publicRoute
	rules  []rule
}

// Requirement is one check a request must pass.
type Requirement struct {
	Rule                        string
	Namespace, Object, Relation string
	OnOutage                    OnOutage
	NotFound                    bool
}

var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// parseRules compiles a rules file; any mistake is an error naming the rule.
func parseRules(data []byte) (*compiledRules, error) {
	var f RulesFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	c := &compiledRules{}
	for _, p := range f.Public {
		method, path, ok := strings.Cut(strings.TrimSpace(p), " ")
		if !ok {
			method, path = "*", p
		}
		path = strings.TrimSpace(path)
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("rules: public route %q: path must start with /", p)
		}
		r := publicRoute{method: strings.ToUpper(method), path: path}
		if strings.HasSuffix(path, "*") {
			r.prefix, r.path = true, strings.TrimSuffix(path, "*")
		}
		c.public = append(c.public, r)
	}
	for i, s := range f.Rules {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		re, err := regexp.Compile(s.Path)
		if err != nil || s.Path == "" {
			return nil, fmt.Errorf("rules: %s: bad path regexp %q: %v", name, s.Path, err)
		}
		nsObj, rel, ok := strings.Cut(s.Require, "#")
		ns, obj, ok2 := strings.Cut(nsObj, ":")
		if !ok || !ok2 || ns == "" || obj == "" || rel == "" {
			return nil, fmt.Errorf("rules: %s: require %q is not Namespace:object#relation", name, s.Require)
		}
		groups := map[string]bool{}
		for _, g := range re.SubexpNames() {
			if g != "" {
				groups[g] = true
			}
		}
		for _, m := range placeholder.FindAllStringSubmatch(obj, -1) {
			if !groups[m[1]] {
				return nil, fmt.Errorf("rules: %s: object uses {%s} but the path has no such named group", name, m[1])
			}
		}
		if s.AllowSelf != "" && !groups[s.AllowSelf] {
			return nil, fmt.Errorf("rules: %s: allow_self %q is not a named group of the path", name, s.AllowSelf)
		}
		r := rule{name: name, re: re, namespace: ns, object: obj, relation: rel, allowSelf: s.AllowSelf}
		switch s.OnOutage {
		case "fail_closed":
			r.onOutage = FailClosed
		case "fallback":
			r.onOutage = Fallback
		case "":
			r.onOutage = Fallback
			if ns == keto.NamespaceRole || ns == keto.NamespaceSystem {
				r.onOutage = FailClosed
			}
		default:
			return nil, fmt.Errorf("rules: %s: on_outage %q is not fail_closed or fallback", name, s.OnOutage)
		}
		switch s.OnDeny {
		case "", "forbidden":
		case "not_found":
			r.notFound = true
		default:
			return nil, fmt.Errorf("rules: %s: on_deny %q is not forbidden or not_found", name, s.OnDeny)
		}
		for _, m := range s.Methods {
			if m == "*" {
				r.methods = nil
				break
			}
			if r.methods == nil {
				r.methods = map[string]bool{}
			}
			r.methods[strings.ToUpper(m)] = true
		}
		c.rules = append(c.rules, r)
	}
	return c, nil
}

// RuleSet holds the current rules; Watch swaps them when the file changes. Safe for concurrent use.
type RuleSet struct {
	cur atomic.Pointer[compiledRules]
}

// NewRuleSet compiles data.
func NewRuleSet(data []byte) (*RuleSet, error) {
	c, err := parseRules(data)
	if err != nil {
		return nil, err
	}
	rs := &RuleSet{}
	rs.cur.Store(c)
	return rs, nil
}

// LoadRules reads and compiles the file at path.
func LoadRules(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return NewRuleSet(data)
}

// Watch reloads the file at path whenever its content changes, checking every interval (default 1s)
// until ctx is done. It compares content, not mtime, because a Kubernetes ConfigMap volume swaps a
// symlink (the file's own mtime may not move) and edits within one second share an mtime. A file that
// fails to parse is logged and the previous rules stay in force.
func (rs *RuleSet) Watch(ctx context.Context, path string, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = time.Second
	}
	var last [32]byte
	if data, err := os.ReadFile(path); err == nil {
		last = sha256.Sum256(data)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := os.ReadFile(path)
		if err != nil {
			log.WarnContext(ctx, "rules file unreadable; keeping the current rules", "path", path, "err", err)
			continue
		}
		sum := sha256.Sum256(data)
		if sum == last {
			continue
		}
		last = sum
		c, err := parseRules(data)
		if err != nil {
			log.ErrorContext(ctx, "rules file invalid; keeping the current rules", "path", path, "err", err)
			continue
		}
		rs.cur.Store(c)
		log.InfoContext(ctx, "rules reloaded", "path", path, "public", len(c.public), "rules", len(c.rules))
	}
}

// Public reports whether method+path is on the public allow-list.
func (rs *RuleSet) Public(method, path string) bool {
	for _, p := range rs.cur.Load().public {
		if p.method != "*" && p.method != method {
			continue
		}
		if p.prefix && strings.HasPrefix(path, p.path) || !p.prefix && path == p.path {
			return true
		}
	}
	return false
}

// Requirements lists the checks method+path requires of userID.
func (rs *RuleSet) Requirements(method, path, userID string) []Requirement {
	var out []Requirement
	for _, r := range rs.cur.Load().rules {
		if r.methods != nil && !r.methods[method] {
			continue
		}
		m := r.re.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		if r.allowSelf != "" && m[r.re.SubexpIndex(r.allowSelf)] == userID {
			continue
		}
		obj := placeholder.ReplaceAllStringFunc(r.object, func(ph string) string {
			return m[r.re.SubexpIndex(ph[1:len(ph)-1])]
		})
		out = append(out, Requirement{Rule: r.name, Namespace: r.namespace, Object: obj, Relation: r.relation,
			OnOutage: r.onOutage, NotFound: r.notFound})
	}
	return out
}
