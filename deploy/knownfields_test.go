package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// kubeconform -strict refuses keys a schema does not list, except under an object marked
// x-kubernetes-preserve-unknown-fields: Knative's CRDs mark Trigger.spec, the delivery blocks and a
// Service's template metadata so, to leave room for feature-gated fields, and only Knative's
// webhook would refuse a typo there ("subscrber:" renders, validates and applies nowhere). This
// check closes that gap: at every such object that lists its properties, a key must be one of them
// or one of extraKnown's.

// extraKnown are fields Knative 1.16 accepts at a preserve-unknown-fields object beyond the ones
// its CRD schema lists: the delivery timeout (feature `delivery-timeout` in config-features).
var extraKnown = map[string][]string{
	"Trigger .spec.delivery": {"timeout"},
	"Broker .spec.delivery":  {"timeout"},
}

// schemaFor loads deploy/schemas' schema of a rendered object, named as check.sh's kubeconform
// -schema-location names it: <kind>[-<group's first label>]-<version>.json.
func schemaFor(t *testing.T, apiVersion, kind string) map[string]any {
	t.Helper()
	suffix := "-" + apiVersion
	if group, version, ok := strings.Cut(apiVersion, "/"); ok {
		first, _, _ := strings.Cut(group, ".")
		suffix = "-" + first + "-" + version
	}
	raw, err := os.ReadFile(filepath.Join("schemas", strings.ToLower(kind)+suffix+".json"))
	if err != nil {
		t.Fatalf("no schema for %s %s: %v", apiVersion, kind, err)
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// unknownFields lists the keys of obj that sit under a preserve-unknown-fields object with listed
// properties and are neither listed nor in extraKnown, as "<path>.<key>".
func unknownFields(obj map[string]any, schema map[string]any) []string {
	kind, _ := obj["kind"].(string)
	var out []string
	var walk func(node any, s map[string]any, path string)
	walk = func(node any, s map[string]any, path string) {
		props, _ := s["properties"].(map[string]any)
		switch n := node.(type) {
		case map[string]any:
			strict := s["x-kubernetes-preserve-unknown-fields"] == true && len(props) > 0
			for k, v := range n {
				if ps, ok := props[k].(map[string]any); ok {
					walk(v, ps, path+"."+k)
					continue
				}
				if ap, ok := s["additionalProperties"].(map[string]any); ok {
					walk(v, ap, path+"."+k)
					continue
				}
				extra := false
				for _, e := range extraKnown[kind+" "+path] {
					extra = extra || e == k
				}
				if strict && !extra {
					out = append(out, path+"."+k)
				}
			}
		case []any:
			if items, ok := s["items"].(map[string]any); ok {
				for _, v := range n {
					walk(v, items, path+"[]")
				}
			}
		}
	}
	walk(obj, schema, "")
	sort.Strings(out)
	return out
}

// renderedObjects reads what deploy/check.sh rendered into .data/deploy-check (default and
// production values).
func renderedObjects(t *testing.T) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, name := range []string{"default", "production"} {
		raw, err := os.ReadFile(filepath.Join("..", ".data", "deploy-check", name+".yaml"))
		if os.IsNotExist(err) {
			t.Skip("no rendered chart in .data/deploy-check: make deploy-check renders it before this test")
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatalf("%s.yaml: %v", name, err)
			}
			if len(m) > 0 {
				out[name] = append(out[name], m)
			}
		}
	}
	return out
}

func TestRenderedChartHasNoUnknownFieldsWhereSchemasKeepThem(t *testing.T) {
	n := 0
	for values, objs := range renderedObjects(t) {
		for _, o := range objs {
			api, _ := o["apiVersion"].(string)
			kind, _ := o["kind"].(string)
			name, _ := o["metadata"].(map[string]any)["name"].(string)
			for _, f := range unknownFields(o, schemaFor(t, api, kind)) {
				t.Errorf("%s values: %s %s: unknown field %s (a typo? Knative's webhook would refuse it; "+
					"a real feature-gated field goes in extraKnown)", values, kind, name, f)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no rendered objects")
	}
	t.Logf("%d rendered objects checked", n)
}

func TestUnknownFieldsFindsTyposUnderPreservedObjects(t *testing.T) {
	trigger := `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t}
spec:
  broker: default
  subscrber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: send}}
  filter: {attributes: {type: anything.goes.here}}
  delivery: {retry: 3, retyr: 3, timeout: PT30S}
`
	service := `
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: s}
spec:
  template:
    metadata:
      annotatons: {autoscaling.knative.dev/min-scale: "1"}
      labels: {app: s}
    spec:
      containers: [{image: x}]
`
	for _, tc := range []struct {
		doc  string
		want []string
	}{
		{trigger, []string{".spec.delivery.retyr", ".spec.subscrber"}},
		{service, []string{".spec.template.metadata.annotatons"}},
	} {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(tc.doc), &obj); err != nil {
			t.Fatal(err)
		}
		got := unknownFields(obj, schemaFor(t, obj["apiVersion"].(string), obj["kind"].(string)))
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: unknown fields %v, want %v", obj["kind"], got, tc.want)
		}
	}
}
