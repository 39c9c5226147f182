// Package apispec keeps docs/openapi.yaml and docs/asyncapi.yaml in step with the code (API.md: "The
// project publishes its own machine-readable spec ... and keeps the two in step with the code by a
// test"). It starts no server: routes come from the functions' own registration (Routes on a
// ServeMux, probed) and their source, objects and payloads from reflection over package events, the
// frame types and close codes from events/ws.go, the gateway table from charts/parley/values.yaml and
// the public allow-list from infra/platform/rules.yaml.
package apispec

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/annotate"
	"github.com/parley-im/parley/functions/contacts"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/files"
	"github.com/parley-im/parley/functions/identity"
	"github.com/parley-im/parley/functions/push"
	"github.com/parley-im/parley/functions/read"
	"github.com/parley-im/parley/functions/realtime"
	"github.com/parley-im/parley/functions/reports"
	"github.com/parley-im/parley/functions/revoke"
	"github.com/parley-im/parley/functions/search"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/platform/routing"
)

// root is the repository root, seen from this package's directory (go test runs there).
const root = "../../.."

// registrars are the functions whose route registration the test runs. Registration only builds
// handlers, so zero-value functions do: no dependency is touched. A function directory missing here
// is still checked through the route patterns in its source (see routeLiterals); add it here so its
// registration is checked too.
func registrars() map[string]func(*http.ServeMux) {
	return map[string]func(*http.ServeMux){
		"identity":      (&identity.Function{}).Routes,
		"contacts":      (&contacts.Handler{}).Routes,
		"conversations": (&conversations.Handler{}).Routes,
		"send":          (&send.Handler{}).Routes,
		"read":          (&read.Handler{}).Routes,
		"revoke":        (&revoke.Handler{}).Routes,
		"files":         (&files.Handler{}).Routes,
		"realtime":      (&realtime.Handler{}).Routes,
		"annotate":      (&annotate.Handler{}).Routes,
		"search":        (&search.Handler{}).Routes,
		"push":          (&push.Handler{}).Routes,
		"reports":       (&reports.Handler{}).Routes,
	}
}

// Who serves an operation besides the functions (x-parley-function), and where its routes are written.
const (
	servedByEdge  = "socket-edge"
	servedByEvery = "every-process"
)

var nonFunctionSources = map[string]string{
	servedByEdge:  "socket-edge/edge", // Edge.Handler
	servedByEvery: "infra/httpserver", // httpserver.New: /healthz, /readyz
}

// openapiTypes are the OpenAPI component schemas named after events types.
var openapiTypes = typeMap(
	events.User{}, events.Tokens{}, events.Auth{}, events.ContactRequest{}, events.Contact{},
	events.Conversation{}, events.Member{}, events.Message{}, events.File{}, events.Presence{},
	events.PresignedRequest{}, events.ICEServer{},
	events.RegisterRequest{}, events.LoginRequest{}, events.RefreshRequest{}, events.LogoutRequest{},
	events.UpdateMeRequest{}, events.DeleteMeRequest{}, events.CreateContactRequest{}, events.BlockRequest{},
	events.CreateConversationRequest{}, events.UpdateConversationRequest{}, events.AddMembersRequest{},
	events.UpdateMemberRequest{}, events.SendMessage{}, events.ReadRequest{}, events.CreateFileRequest{},
	events.UserResponse{}, events.TokensResponse{}, events.RequestResponse{}, events.RequestsResponse{},
	events.ContactsResponse{}, events.ConversationResponse{}, events.ConversationsResponse{},
	events.ConversationDetail{}, events.MessageResponse{}, events.MessagesResponse{}, events.ReadResponse{},
	events.PresenceResponse{}, events.FileCreated{}, events.FileResponse{}, events.TicketResponse{},
	events.ICEServersResponse{}, events.Reaction{}, events.ReplyTo{},
	events.EditMessageRequest{}, events.Pin{}, events.PinResponse{}, events.PinsResponse{}, events.ReadByResponse{},
	events.Problem{},
	// v1.1: mute and push.
	events.UpdateSettingsRequest{}, events.ConversationSettings{}, events.SettingsResponse{},
	events.WebPushKeys{}, events.WebPushSubscription{}, events.RegisterDeviceRequest{}, events.PushDevice{},
	events.DeviceResponse{}, events.DevicesResponse{}, events.VAPIDKeyResponse{}, events.PushMessage{},
	// v1.1: data export.
	events.Export{}, events.ExportLine{}, events.ExportEnd{},
	// v1.1: reports.
	events.Report{}, events.ReportRequest{}, events.ResolveReportRequest{}, events.ReportResponse{}, events.ReportsResponse{},
)

// asyncapiTypes are the AsyncAPI component schemas named after events types.
var asyncapiTypes = typeMap(
	events.Frame{}, events.Hello{}, events.ErrorFrame{}, events.SendFrame{}, events.ReadFrame{},
	events.RevokeFrame{}, events.TypingFrame{}, events.PresenceFrame{},
	events.SendCommand{}, events.ReadCommand{}, events.RevokeCommand{}, events.TypingCommand{},
	events.CallSignal{}, events.CommandRejected{}, events.UserFact{}, events.UserDeleted{},
	events.SessionRevoked{}, events.ContactFact{}, events.ContactRemoved{}, events.ConversationFact{},
	events.MemberFact{}, events.MessageFact{}, events.ConversationRead{}, events.FileFact{},
	events.PresenceChanged{}, events.Delivery{}, events.DeliveredEvent{},
	events.ReactionChanged{}, events.ConversationPinned{},
	events.MessageErased{}, events.ReportFact{}, events.ReadResult{},
)

// notOnTheWire are exported events structs that no client sees as JSON.
var notOnTheWire = map[string]string{
	"CodeSpec":    "catalog entry; documented as ErrorCode x-parley-catalog",
	"Error":       "Go error; rendered as Problem or ErrorFrame",
	"Record":      "Kafka record of the transport",
	"Header":      "Kafka header of the transport",
	"Correlation": "parsed form of the correlationid extension (a string on the wire)",
	"PushFrame":   "the edge's fact type -> push frame table entry",
	"Disconnect":  "a close code and reason; the close frame carries them",
}

// Schemas in the specs that are not events types (inline maps or envelopes).
var (
	openapiOwnSchemas  = []string{"ErrorCode", "OIDCConfiguration", "JWKS", "KeyRotation"}
	asyncapiOwnSchemas = []string{"CloudEventHeaders", "DeadLetterHeaders", "S3Notification"}
)

// payloadOf maps every CloudEvent type to its data (events_test.go's golden cases); nil: not a Go type.
var payloadOf = map[string]reflect.Type{
	events.TypeMessageSend:         reflect.TypeFor[events.SendCommand](),
	events.TypeMessageRead:         reflect.TypeFor[events.ReadCommand](),
	events.TypeMessageRevoke:       reflect.TypeFor[events.RevokeCommand](),
	events.TypeTypingUpdate:        reflect.TypeFor[events.TypingCommand](),
	events.TypeCallSignal:          reflect.TypeFor[events.CallSignal](),
	events.TypeCommandRejected:     reflect.TypeFor[events.CommandRejected](),
	events.TypeUserRegistered:      reflect.TypeFor[events.UserFact](),
	events.TypeUserUpdated:         reflect.TypeFor[events.UserFact](),
	events.TypeUserDeleted:         reflect.TypeFor[events.UserDeleted](),
	events.TypeSessionRevoked:      reflect.TypeFor[events.SessionRevoked](),
	events.TypeContactRequested:    reflect.TypeFor[events.ContactFact](),
	events.TypeContactAccepted:     reflect.TypeFor[events.ContactFact](),
	events.TypeContactRemoved:      reflect.TypeFor[events.ContactRemoved](),
	events.TypeConversationCreated: reflect.TypeFor[events.ConversationFact](),
	events.TypeConversationUpdated: reflect.TypeFor[events.ConversationFact](),
	events.TypeMemberAdded:         reflect.TypeFor[events.MemberFact](),
	events.TypeMemberRemoved:       reflect.TypeFor[events.MemberFact](),
	events.TypeMessageCreated:      reflect.TypeFor[events.MessageFact](),
	events.TypeMessageRevoked:      reflect.TypeFor[events.MessageFact](),
	events.TypeConversationRead:    reflect.TypeFor[events.ConversationRead](),
	events.TypeFileUploaded:        reflect.TypeFor[events.FileFact](),
	events.TypeFileRejected:        reflect.TypeFor[events.FileFact](),
	events.TypePresenceChanged:     reflect.TypeFor[events.PresenceChanged](),
	events.TypeMessageEdited:       reflect.TypeFor[events.MessageFact](),
	events.TypeReactionChanged:     reflect.TypeFor[events.ReactionChanged](),
	events.TypeConversationPinned:  reflect.TypeFor[events.ConversationPinned](),
	events.TypeMessageErased:       reflect.TypeFor[events.MessageErased](),
	events.TypeReportCreated:       reflect.TypeFor[events.ReportFact](),
	events.TypeReportResolved:      reflect.TypeFor[events.ReportFact](),
	events.TypeDelivery:            reflect.TypeFor[events.Delivery](),
	events.TypeKafkaRecord:         nil, // a plain record wrapped by a KafkaSource (S3 notifications)
}

func typeMap(vs ...any) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, v := range vs {
		t := reflect.TypeOf(v)
		m[t.Name()] = t
	}
	return m
}

// ---------------------------------------------------------------------------------------------
// documents

type doc struct {
	name string
	m    map[string]any
}

var docCache = map[string]*doc{}

func load(t *testing.T, name string) *doc {
	t.Helper()
	if d, ok := docCache[name]; ok {
		return d
	}
	b, err := os.ReadFile(filepath.Join(root, "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	d := &doc{name: name, m: m}
	docCache[name] = d
	return d
}

// at walks a path of keys from v; nil when a key is missing.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func strs(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// resolve follows a $ref ("#/a/b" in d, or "./openapi.yaml#/a/b") and returns the target and its document.
func resolve(t *testing.T, d *doc, ref string) (map[string]any, *doc, error) {
	file, ptr, ok := strings.Cut(ref, "#")
	if !ok {
		return nil, nil, fmt.Errorf("$ref %q has no fragment", ref)
	}
	target := d
	if file != "" {
		target = load(t, strings.TrimPrefix(file, "./"))
	}
	var v any = target.m
	for _, k := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		v = at(v, strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~"))
	}
	m := obj(v)
	if m == nil {
		return nil, nil, fmt.Errorf("%s: $ref %q does not resolve", d.name, ref)
	}
	return m, target, nil
}

// deref resolves v when it is a {$ref} object.
func deref(t *testing.T, d *doc, v map[string]any) map[string]any {
	if ref, ok := v["$ref"].(string); ok {
		m, _, err := resolve(t, d, ref)
		if err != nil {
			t.Error(err)
			return map[string]any{}
		}
		return m
	}
	return v
}

// ---------------------------------------------------------------------------------------------
// routes

var routePattern = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/\S*)$`)

// routeLiterals returns the "METHOD /path" string literals of the non-test Go files of dir: the
// patterns its route registration passes to the mux.
func routeLiterals(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && routePattern.MatchString(s) {
					out = append(out, s)
				}
			}
			return true
		})
	}
	sort.Strings(out)
	return slices.Compact(out)
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// normalize makes "POST /v1/conversations/{conv}/read" and ".../{id}/read" equal.
func normalize(route string) string { return wildcard.ReplaceAllString(route, "{}") }

// request builds a concrete request for a route pattern.
func request(route string) *http.Request {
	method, path, _ := strings.Cut(route, " ")
	n := 0
	path = wildcard.ReplaceAllStringFunc(path, func(string) string { n++; return "x" + strconv.Itoa(n) })
	return httptest.NewRequest(method, path, nil)
}

type operation struct {
	route    string // "METHOD /path" as in the spec
	servedBy string
	op       map[string]any
	public   bool
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func operations(t *testing.T, d *doc) []operation {
	var ops []operation
	for path, item := range obj(d.m["paths"]) {
		for _, m := range methods {
			op := obj(obj(item)[m])
			if op == nil {
				continue
			}
			sec, hasSec := op["security"]
			public := hasSec && len(sec.([]any)) == 0
			by, _ := op["x-parley-function"].(string)
			ops = append(ops, operation{route: strings.ToUpper(m) + " " + path, servedBy: by, op: op, public: public})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].route < ops[j].route })
	return ops
}

func TestRoutesMatchOpenAPI(t *testing.T) {
	d := load(t, "openapi.yaml")
	values, err := routing.Load(filepath.Join(root, "charts/parley/values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := values.RouteTable()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := auth.LoadRules(filepath.Join(root, "infra/platform/rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	// What the spec says each server serves.
	spec := map[string][]string{}
	for _, o := range operations(t, d) {
		if o.servedBy == "" {
			t.Errorf("openapi %s: no x-parley-function", o.route)
			continue
		}
		spec[o.servedBy] = append(spec[o.servedBy], normalize(o.route))
		// The gateway must send the operation to the server that says it serves it.
		if o.servedBy != servedByEvery {
			r := request(o.route)
			if got, ok := table.Lookup(r.Method, r.URL.Path); !ok || got != o.servedBy {
				t.Errorf("openapi %s is served by %s, but the gateway (values.yaml) routes it to %q", o.route, o.servedBy, got)
			}
		}
		// Public operations are exactly the access policy's allow-list.
		r := request(o.route)
		if want := rules.Public(r.Method, r.URL.Path); o.public != want {
			t.Errorf("openapi %s: public (security: []) is %v, rules.yaml says %v", o.route, o.public, want)
		}
	}

	// What the code registers. Every function directory is checked through the patterns in its
	// source; the registrars also run the registration and probe the mux with each pattern.
	regs := registrars()
	code := map[string][]string{}
	ents, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "cmd" || e.Name() == "internal" {
			continue
		}
		name := e.Name()
		dirs[name] = true
		lits := routeLiterals(t, filepath.Join(root, "functions", name))
		if reg, ok := regs[name]; ok {
			mux := http.NewServeMux()
			reg(mux)
			for _, l := range lits {
				if _, pat := mux.Handler(request(l)); pat != l {
					t.Errorf("functions/%s: %q is in the source but the registration serves it as %q", name, l, pat)
				}
			}
			// And every documented operation of the function reaches a registered pattern.
			for _, o := range operations(t, d) {
				if o.servedBy != name {
					continue
				}
				if _, pat := mux.Handler(request(o.route)); normalize(pat) != normalize(o.route) {
					t.Errorf("openapi %s: functions/%s registration does not serve it (matched %q)", o.route, name, pat)
				}
			}
		} else if len(lits) > 0 {
			t.Logf("functions/%s is checked through its source only; add its Routes to registrars()", name)
		}
		for _, l := range lits {
			code[name] = append(code[name], normalize(l))
		}
		if _, ok := values.Function(name); !ok && len(lits) > 0 {
			t.Errorf("functions/%s registers routes but is not a function of values.yaml", name)
		}
	}
	for by, dir := range nonFunctionSources {
		for _, l := range routeLiterals(t, filepath.Join(root, dir)) {
			code[by] = append(code[by], normalize(l))
		}
	}

	servers := map[string]bool{}
	for k := range spec {
		servers[k] = true
	}
	for k := range code {
		servers[k] = true
	}
	for name := range servers {
		_, isFunction := values.Function(name)
		if _, other := nonFunctionSources[name]; !isFunction && !other {
			t.Errorf("openapi: x-parley-function %q is neither a function of values.yaml nor one of %v", name, keys(nonFunctionSources))
			continue
		}
		if isFunction && !dirs[name] {
			t.Logf("pending: functions/%s does not exist yet; its documented routes %v are not checked against code", name, spec[name])
			continue
		}
		s, c := set(spec[name]), set(code[name])
		for r := range c {
			if !s[r] {
				t.Errorf("%s registers %q but docs/openapi.yaml has no such operation", name, r)
			}
		}
		for r := range s {
			if !c[r] {
				t.Errorf("docs/openapi.yaml documents %q (x-parley-function %s) but %s does not register it", r, name, name)
			}
		}
	}
}

func set(l []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return m
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------------------------
// errors

func TestErrorCatalog(t *testing.T) {
	d := load(t, "openapi.yaml")
	ec := obj(at(d.m, "components", "schemas", "ErrorCode"))
	enum := strs(ec["enum"])
	catalog := obj(ec["x-parley-catalog"])
	var want []string
	for _, c := range events.Codes() {
		want = append(want, string(c))
		s := c.Spec()
		e := obj(catalog[string(c)])
		if e == nil {
			t.Errorf("ErrorCode x-parley-catalog has no %s", c)
			continue
		}
		if st, _ := e["status"].(float64); int(st) != s.Status {
			t.Errorf("ErrorCode %s: status %v, code says %d", c, e["status"], s.Status)
		}
		if e["title"] != s.Title {
			t.Errorf("ErrorCode %s: title %v, code says %q", c, e["title"], s.Title)
		}
		if e["retryable"] != s.Retryable {
			t.Errorf("ErrorCode %s: retryable %v, code says %v", c, e["retryable"], s.Retryable)
		}
		if cl, _ := e["ws_close"].(float64); int(cl) != s.Close {
			t.Errorf("ErrorCode %s: ws_close %v, code says %d", c, e["ws_close"], s.Close)
		}
	}
	if !slices.Equal(enum, want) {
		t.Errorf("ErrorCode enum %v, events.Codes() %v", enum, want)
	}
	for _, c := range constants(t, "Code") {
		if !slices.Contains(want, c.value) {
			t.Errorf("events.%s = %q is not in events.Codes(); add it there and to ErrorCode in docs/openapi.yaml", c.name, c.value)
		}
	}
	if len(catalog) != len(want) {
		t.Errorf("ErrorCode x-parley-catalog has %d codes, events.Codes() %d", len(catalog), len(want))
	}

	// Each operation lists the codes it answers, with a response of each code's status; each
	// problem+json response has a listed code.
	for _, o := range operations(t, d) {
		listed, ok := o.op["x-parley-error-codes"]
		if !ok {
			t.Errorf("openapi %s: no x-parley-error-codes", o.route)
			continue
		}
		resp := obj(o.op["responses"])
		statuses := map[int]bool{}
		for _, c := range strs(listed) {
			if !slices.Contains(want, c) {
				t.Errorf("openapi %s: %q is not in the catalog", o.route, c)
				continue
			}
			st := events.Code(c).Spec().Status
			statuses[st] = true
			if resp[strconv.Itoa(st)] == nil {
				t.Errorf("openapi %s: can answer %s but has no %d response", o.route, c, st)
			}
		}
		if !o.public && o.servedBy != servedByEvery && !slices.Contains(strs(listed), string(events.CodeUnauthenticated)) {
			t.Errorf("openapi %s: authenticated but does not list unauthenticated", o.route)
		}
		for k, r := range resp {
			st, err := strconv.Atoi(k)
			if err != nil || st < 400 {
				continue
			}
			if at(deref(t, d, obj(r)), "content", events.ProblemContentType) != nil && !statuses[st] {
				t.Errorf("openapi %s: %d problem response but no listed code has status %d", o.route, st, st)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// schemas

type field struct {
	name      string
	typ       reflect.Type
	omitempty bool
}

// jsonFields lists what encoding/json writes for t (embedded structs flattened).
func jsonFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name: name, typ: f.Type, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	return out
}

var (
	rawType  = reflect.TypeFor[json.RawMessage]()
	timeType = reflect.TypeFor[time.Time]()
	codeType = reflect.TypeFor[events.Code]()
)

// checkSchema compares a component schema with a Go type: property names, required (the fields
// without omitempty) and each property's JSON type.
func checkSchema(t *testing.T, d *doc, name string, s map[string]any, typ reflect.Type) {
	t.Helper()
	props := obj(s["properties"])
	fields := jsonFields(typ)
	var goNames, goRequired []string
	for _, f := range fields {
		goNames = append(goNames, f.name)
		if !f.omitempty {
			goRequired = append(goRequired, f.name)
		}
		p := obj(props[f.name])
		if p == nil {
			continue
		}
		if err := checkType(t, d, p, f.typ); err != nil {
			t.Errorf("%s %s.%s: %v", d.name, name, f.name, err)
		}
	}
	specNames := keys(props)
	sort.Strings(goNames)
	if !slices.Equal(specNames, goNames) {
		t.Errorf("%s schema %s has properties %v; events.%s has JSON fields %v", d.name, name, specNames, typ.Name(), goNames)
	}
	req := strs(s["required"])
	sort.Strings(req)
	sort.Strings(goRequired)
	if !slices.Equal(req, goRequired) {
		t.Errorf("%s schema %s requires %v; events.%s always writes %v (fields without omitempty)", d.name, name, req, typ.Name(), goRequired)
	}
}

func checkType(t *testing.T, d *doc, p map[string]any, typ reflect.Type) error {
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
		// A pointer written even when nil (no omitempty) is null then: the schema's type is [T, 'null'].
		if ts, ok := p["type"].([]any); ok && len(ts) == 2 && slices.Contains(ts, any("null")) {
			p = maps.Clone(p)
			p["type"] = ts[0]
			if ts[0] == "null" {
				p["type"] = ts[1]
			}
		}
	}
	ref, _ := p["$ref"].(string)
	want := func(jsonType string) error {
		if p["type"] != jsonType {
			return fmt.Errorf("schema type %v, want %s for Go %s", p["type"], jsonType, typ)
		}
		return nil
	}
	switch {
	case typ == rawType, typ.Kind() == reflect.Interface:
		if p["type"] != nil || ref != "" {
			return fmt.Errorf("Go json.RawMessage is any JSON; the schema must not constrain its type")
		}
		return nil
	case typ == timeType:
		if p["format"] != "date-time" {
			return fmt.Errorf("Go time.Time needs format date-time")
		}
		return want("string")
	case typ == codeType:
		if !strings.HasSuffix(ref, "/components/schemas/ErrorCode") {
			return fmt.Errorf("Go events.Code needs $ref to ErrorCode, got %q", ref)
		}
		_, _, err := resolve(t, d, ref)
		return err
	}
	switch typ.Kind() {
	case reflect.String:
		return want("string")
	case reflect.Bool:
		return want("boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return want("integer")
	case reflect.Float32, reflect.Float64:
		return want("number")
	case reflect.Slice, reflect.Array:
		if err := want("array"); err != nil {
			return err
		}
		return checkType(t, d, obj(p["items"]), typ.Elem())
	case reflect.Map:
		if err := want("object"); err != nil {
			return err
		}
		return checkType(t, d, obj(p["additionalProperties"]), typ.Elem())
	case reflect.Struct:
		if !strings.HasSuffix(ref, "/components/schemas/"+typ.Name()) {
			return fmt.Errorf("Go %s needs $ref to the %s schema, got %q", typ, typ.Name(), ref)
		}
		_, _, err := resolve(t, d, ref)
		return err
	}
	return fmt.Errorf("no JSON mapping for Go %s", typ)
}

func checkComponents(t *testing.T, d *doc, types map[string]reflect.Type, own []string) {
	schemas := obj(at(d.m, "components", "schemas"))
	for name, typ := range types {
		s := obj(schemas[name])
		if s == nil {
			t.Errorf("%s has no schema %s (events.%s)", d.name, name, typ.Name())
			continue
		}
		checkSchema(t, d, name, s, typ)
	}
	for name := range schemas {
		if types[name] == nil && !slices.Contains(own, name) {
			t.Errorf("%s schema %s is not named after an events type; map it in this test or list it as the spec's own", d.name, name)
		}
	}
}

func TestOpenAPISchemasMatchEvents(t *testing.T) {
	checkComponents(t, load(t, "openapi.yaml"), openapiTypes, openapiOwnSchemas)
}

func TestAsyncAPISchemasMatchEvents(t *testing.T) {
	checkComponents(t, load(t, "asyncapi.yaml"), asyncapiTypes, asyncapiOwnSchemas)
}

// TestEveryEventsStructIsDocumented fails when package events gains an exported struct that neither
// spec knows.
func TestEveryEventsStructIsDocumented(t *testing.T) {
	for _, name := range exportedStructs(t) {
		if openapiTypes[name] == nil && asyncapiTypes[name] == nil && notOnTheWire[name] == "" {
			t.Errorf("events.%s is new: add a schema to docs/openapi.yaml or docs/asyncapi.yaml and map it in this test", name)
		}
	}
}

func parseEvents(t *testing.T) []*ast.File {
	t.Helper()
	dir := filepath.Join(root, "events")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	return files
}

func exportedStructs(t *testing.T) []string {
	var out []string
	for _, f := range parseEvents(t) {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if _, ok := ts.Type.(*ast.StructType); ok && ts.Name.IsExported() {
					out = append(out, ts.Name.Name)
				}
			}
		}
	}
	return out
}

// constant is one constant of package events with a literal value.
type constant struct {
	name, value string
	doc         string // the comment of its const block
}

func constants(t *testing.T, prefix string) []constant {
	var out []constant
	for _, f := range parseEvents(t) {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("events.%s is not a literal; extend this test", n.Name)
					}
					v := lit.Value
					if lit.Kind == token.STRING {
						v, _ = strconv.Unquote(v)
					}
					out = append(out, constant{name: n.Name, value: v, doc: g.Doc.Text()})
				}
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// AsyncAPI: WebSocket

// channelMessages returns a channel's messages (resolved) keyed by their key in the channel.
func channelMessages(t *testing.T, d *doc, channel string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range obj(at(d.m, "channels", channel, "messages")) {
		out[k] = deref(t, d, obj(v))
	}
	return out
}

func TestFramesAndCloseCodes(t *testing.T) {
	d := load(t, "asyncapi.yaml")
	if got := at(d.m, "channels", "websocket", "address"); got != "/v1/ws" {
		t.Errorf("asyncapi websocket channel address %v, want /v1/ws", got)
	}
	msgs := channelMessages(t, d, "websocket")
	byDir := map[string]map[string]map[string]any{"client": {}, "server": {}}
	for k, m := range msgs {
		dir, _ := m["x-parley-direction"].(string)
		name, _ := m["name"].(string)
		if byDir[dir] == nil {
			t.Errorf("asyncapi websocket message %s: x-parley-direction %q, want client or server", k, dir)
			continue
		}
		byDir[dir][name] = m
		payload := deref(t, d, obj(m["payload"]))
		props := obj(payload["properties"])
		if c := at(props, "type", "const"); c != name {
			t.Errorf("asyncapi websocket message %s: payload type const %v, want %q", k, c, name)
		}
		frame := map[string]bool{}
		for _, f := range jsonFields(reflect.TypeFor[events.Frame]()) {
			frame[f.name] = true
		}
		for p := range props {
			if !frame[p] {
				t.Errorf("asyncapi websocket message %s: %q is not a field of events.Frame", k, p)
			}
		}
		if ref, ok := at(props, "data", "$ref").(string); ok {
			if _, _, err := resolve(t, d, ref); err != nil {
				t.Error(err)
			}
		}
	}

	frames := constants(t, "Frame")
	if len(frames) == 0 {
		t.Fatal("no Frame constants found in events")
	}
	for _, c := range frames {
		var dir string
		switch {
		case strings.Contains(c.doc, "Client -> server"):
			dir = "client"
		case strings.Contains(c.doc, "Server -> client"):
			dir = "server"
		default:
			t.Errorf("events.%s: its const block says neither \"Client -> server\" nor \"Server -> client\"", c.name)
			continue
		}
		if byDir[dir][c.value] == nil {
			t.Errorf("events.%s (%s -> %q) has no message in the asyncapi websocket channel", c.name, dir, c.value)
		}
	}

	codes := constants(t, "Close")
	documented := map[string]float64{}
	for _, e := range at(d.m, "channels", "websocket", "x-parley-close-codes").([]any) {
		name, _ := obj(e)["name"].(string)
		code, _ := obj(e)["code"].(float64)
		documented[name] = code
	}
	for _, c := range codes {
		v, _ := strconv.Atoi(c.value)
		if got, ok := documented[c.name]; !ok || int(got) != v {
			t.Errorf("events.%s = %d is not in asyncapi x-parley-close-codes (got %v)", c.name, v, got)
		}
		delete(documented, c.name)
	}
	for name := range documented {
		t.Errorf("asyncapi x-parley-close-codes has %s, which events does not define", name)
	}
}

// ---------------------------------------------------------------------------------------------
// AsyncAPI: events

func TestEventTypes(t *testing.T) {
	d := load(t, "asyncapi.yaml")
	values, err := routing.Load(filepath.Join(root, "charts/parley/values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	addresses := map[string]string{
		"broker":      values.Broker.Topic,
		"delivery":    events.TopicDelivery,
		"deadLetters": "{topic}" + events.DLQSuffix,
		"s3Events":    values.Topics.S3Events,
	}
	for ch, want := range addresses {
		if got := at(d.m, "channels", ch, "address"); got != want {
			t.Errorf("asyncapi channel %s address %v, want %q", ch, got, want)
		}
	}

	// name -> (channel, message) of every event message.
	type where struct {
		channel string
		msg     map[string]any
	}
	byName := map[string][]where{}
	for ch := range addresses {
		for _, m := range channelMessages(t, d, ch) {
			name, _ := m["name"].(string)
			byName[name] = append(byName[name], where{ch, m})
		}
	}

	kind := map[string]string{events.TypeCommandRejected: "reply", events.TypeDelivery: "delivery", events.TypeKafkaRecord: "record"}
	for _, c := range events.CommandTypes() {
		kind[c] = "command"
	}
	for _, f := range events.FactTypes() {
		kind[f] = "fact"
	}
	home := map[string]string{"command": "broker", "reply": "broker", "fact": "broker", "delivery": "delivery", "record": "s3Events"}

	// Every Type constant of events (not only the listed ones) must be documented.
	for _, c := range constants(t, "Type") {
		if _, ok := payloadOf[c.value]; !ok {
			t.Errorf("events.%s = %q is new: map its payload in this test and document it in docs/asyncapi.yaml", c.name, c.value)
		}
		if kind[c.value] == "" {
			t.Errorf("events.%s = %q is in neither CommandTypes() nor FactTypes()", c.name, c.value)
		}
	}
	for typ, goType := range payloadOf {
		ws := byName[typ]
		var found *where
		for i := range ws {
			if ws[i].channel == home[kind[typ]] {
				found = &ws[i]
			}
		}
		if found == nil {
			t.Errorf("%s (%s) has no message in the asyncapi %s channel", typ, kind[typ], home[kind[typ]])
			continue
		}
		if k := found.msg["x-parley-kind"]; k != kind[typ] {
			t.Errorf("asyncapi %s: x-parley-kind %v, want %s", typ, k, kind[typ])
		}
		if goType == nil {
			continue
		}
		ref, _ := at(found.msg, "payload", "$ref").(string)
		if !strings.HasSuffix(ref, "/components/schemas/"+goType.Name()) {
			t.Errorf("asyncapi %s: payload $ref %q, want the %s schema", typ, ref, goType.Name())
			continue
		}
		s, sd, err := resolve(t, d, ref)
		if err != nil {
			t.Error(err)
			continue
		}
		checkSchema(t, sd, goType.Name(), s, goType)
	}
	// Dead letters: every event a trigger reads from the broker may end there.
	dlq := map[string]bool{}
	for _, m := range channelMessages(t, d, "deadLetters") {
		dlq[m["name"].(string)] = true
	}
	for typ, k := range kind {
		if k != "delivery" && !dlq[typ] {
			t.Errorf("asyncapi deadLetters channel lacks %s", typ)
		}
	}
}
