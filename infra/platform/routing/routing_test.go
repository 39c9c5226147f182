package routing_test

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/infra/platform/routing"
)

func chartValues(t *testing.T) *routing.Values {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	v, err := routing.Load(filepath.Join(filepath.Dir(file), "../../../charts/parley/values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestChartValuesRouteTheAPI(t *testing.T) {
	v := chartValues(t)
	tab, err := v.RouteTable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ method, path, want string }{
		{"POST", "/v1/auth/register", "identity"},
		{"GET", "/v1/users/me", "identity"},
		{"GET", "/v1/users", "identity"},
		{"GET", "/.well-known/openid-configuration", "identity"},
		{"PUT", "/v1/admin/roles/admin/members/u1", "identity"},
		{"POST", "/v1/ws/tickets", "identity"},
		{"GET", "/v1/ws", routing.EdgeTarget},
		{"POST", "/v1/contacts/requests/r1/accept", "contacts"},
		{"POST", "/v1/blocks", "contacts"},
		{"POST", "/v1/conversations", "conversations"},
		{"GET", "/v1/conversations/c1", "conversations"},
		{"GET", "/v1/conversations/c1/messages", "conversations"},
		{"POST", "/v1/conversations/c1/messages", "send"},
		{"POST", "/v1/conversations/c1/read", "read"},
		{"POST", "/v1/conversations/c1/members", "conversations"},
		{"POST", "/v1/messages/m1/revoke", "revoke"},
		{"POST", "/v1/files", "files"},
		{"GET", "/v1/files/f1", "files"},
		{"GET", "/v1/presence", "realtime"},
		{"GET", "/v1/calls/ice-servers", "realtime"},
		// v1.1 (issue 14).
		{"PATCH", "/v1/messages/m1", "annotate"},
		{"PUT", "/v1/messages/m1/reactions/%F0%9F%91%8D", "annotate"},
		{"DELETE", "/v1/messages/m1/reactions/heart", "annotate"},
		{"PUT", "/v1/conversations/c1/pins/m1", "annotate"},
		{"GET", "/v1/conversations/c1/pins", "annotate"},
		{"GET", "/v1/conversations/c1/read-by", "conversations"},
		{"GET", "/v1/search/messages", "search"},
	}
	for _, c := range cases {
		got, ok := tab.Lookup(c.method, c.path)
		if !ok || got != c.want {
			t.Errorf("%s %s -> %q (%v), want %q", c.method, c.path, got, ok, c.want)
		}
	}
	for _, p := range []string{"/v1/usersx", "/v1", "/", "/v1/auth", "/v1/conversationsX/1"} {
		if got, ok := tab.Lookup("GET", p); ok {
			t.Errorf("GET %s routed to %s, want no route", p, got)
		}
	}
}

// The fanout trigger must see every fact and the rejections: a fact type added to the catalog
// and forgotten here would silently never reach a socket.
func TestFanoutTriggerCoversEveryFact(t *testing.T) {
	v := chartValues(t)
	var fan *routing.Trigger
	for i := range v.Triggers {
		if v.Triggers[i].Subscriber == "fanout" {
			fan = &v.Triggers[i]
		}
	}
	if fan == nil {
		t.Fatal("no fanout trigger")
	}
	for _, typ := range append(events.FactTypes(), events.TypeCommandRejected) {
		if !slices.Contains(fan.Types, typ) {
			t.Errorf("fanout trigger misses %s", typ)
		}
	}
	for _, typ := range events.CommandTypes() {
		found := false
		for _, tr := range v.Triggers {
			found = found || slices.Contains(tr.Types, typ)
		}
		if !found {
			t.Errorf("no trigger for command %s", typ)
		}
	}
}

func TestValidateRejectsBrokenReferences(t *testing.T) {
	bad := `
namespace: parley
broker: {name: default, topic: b}
functions: [{name: send, localPort: 9104, routes: ["FETCH /x"]}]
triggers: [{name: t1, subscriber: nobody, types: [a], ordering: sideways, attributes: {Bad-Name: "x", type: "y"}, delivery: {deadLetterSink: nope, backoffDelay: 2s}}]
`
	_, err := routing.Parse([]byte(bad))
	if err == nil {
		t.Fatal("invalid values accepted")
	}
	for _, want := range []string{"FETCH", "nobody", "sideways", "nope", "backoffDelay", `"Bad-Name"`, `"type"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestParseISODuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT0.2S": 200 * time.Millisecond, "PT30S": 30 * time.Second, "PT1M": time.Minute,
		"P1DT2H": 26 * time.Hour, "PT1M30.5S": 90500 * time.Millisecond,
	} {
		got, err := routing.ParseISODuration(in)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "2s", "PT-1S"} {
		if _, err := routing.ParseISODuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
