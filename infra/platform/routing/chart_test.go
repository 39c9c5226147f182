package routing_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// renderChart renders charts/parley with the values file, using Go templates with Helm's function
// library (sprig + include/toYaml/fail), without a helm binary (make deploy-check runs the real one). It catches template and YAML
// mistakes and checks the routing objects say what values.yaml says.
func renderChart(t *testing.T, overlays ...string) []map[string]any {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "../../../charts/parley")
	var values map[string]any
	for _, f := range append([]string{"values.yaml"}, overlays...) {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		values = mergeValues(values, v)
	}
	// The function library Helm gives templates: sprig's, plus Helm's own include/toYaml/fail.
	root := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	funcs["include"] = func(name string, data any) (string, error) {
		var b bytes.Buffer
		err := root.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	funcs["toYaml"] = func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	root.Funcs(funcs)
	tpls, _ := filepath.Glob(filepath.Join(dir, "templates", "*"))
	for _, p := range tpls {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.New(filepath.Base(p)).Parse(string(b)); err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
	}
	data := map[string]any{
		"Files":   chartFiles(dir),
		"Values":  values,
		"Release": map[string]any{"Service": "Helm", "Name": "parley", "Namespace": "parley"},
		"Chart":   map[string]any{"Name": "parley", "Version": "0.1.0"},
	}
	var docs []map[string]any
	for _, p := range tpls {
		name := filepath.Base(p)
		if strings.HasPrefix(name, "_") {
			continue
		}
		var b bytes.Buffer
		if err := root.ExecuteTemplate(&b, name, data); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		for i, doc := range strings.Split(b.String(), "\n---") {
			var m map[string]any
			if err := yaml.UnmarshalStrict([]byte(doc), &m); err != nil {
				t.Fatalf("%s document %d is not valid YAML: %v\n%s", name, i, err, doc)
			}
			if len(m) == 0 {
				continue
			}
			if m["apiVersion"] == nil || m["kind"] == nil || dig(m, "metadata", "name") == nil {
				t.Fatalf("%s document %d lacks apiVersion/kind/metadata.name:\n%s", name, i, doc)
			}
			docs = append(docs, m)
		}
	}
	return docs
}

// mergeValues merges over onto base as Helm merges -f files: maps key by key, anything else replaced.
func mergeValues(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// chartFiles is .Files of the chart: Get reads a file relative to the chart directory.
type chartFiles string

func (d chartFiles) Get(name string) string {
	b, _ := os.ReadFile(filepath.Join(string(d), name))
	return string(b)
}

func dig(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, ok := m.(map[string]any)
			if !ok {
				return nil
			}
			m = mm[k]
		case int:
			s, ok := m.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			m = s[k]
		}
	}
	return m
}

func byKind(docs []map[string]any, kind string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, d := range docs {
		if d["kind"] == kind {
			out[dig(d, "metadata", "name").(string)] = d
		}
	}
	return out
}

func TestChartRendersTheRoutingOfValues(t *testing.T) {
	docs := renderChart(t)
	v := chartValues(t)

	services := byKind(docs, "Service")
	for _, f := range v.Functions {
		s, ok := services[f.Name]
		if !ok || s["apiVersion"] != "serving.knative.dev/v1" {
			t.Errorf("no Knative Service for function %s", f.Name)
			continue
		}
		if dig(s, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/max-scale") == nil {
			t.Errorf("%s: no autoscaling annotations", f.Name)
		}
		if dig(s, "spec", "template", "spec", "containerConcurrency") == nil {
			t.Errorf("%s: no containerConcurrency", f.Name)
		}
	}
	if web, ok := services["web"]; !ok || web["apiVersion"] != "serving.knative.dev/v1" {
		t.Error("no Knative Service for the web client")
	} else if img := fmt.Sprint(dig(web, "spec", "template", "spec", "containers", 0, "image")); !strings.Contains(img, "/parley-web:") {
		t.Errorf("web client image %s, want .../parley-web:<tag>", img)
	}
	triggers := byKind(docs, "Trigger")
	if len(triggers) != len(v.Triggers) {
		t.Errorf("%d Triggers rendered, values has %d", len(triggers), len(v.Triggers))
	}
	for _, want := range v.Triggers {
		tr := triggers[want.Name]
		if tr == nil {
			t.Errorf("trigger %s not rendered", want.Name)
			continue
		}
		if got := dig(tr, "metadata", "annotations", "kafka.eventing.knative.dev/delivery.order"); got != want.Ordering {
			t.Errorf("%s ordering annotation = %v, want %s", want.Name, got, want.Ordering)
		}
		var types []string
		if len(want.Types) == 1 {
			types = append(types, fmt.Sprint(dig(tr, "spec", "filter", "attributes", "type")))
		} else {
			anys, _ := dig(tr, "spec", "filters", 0, "any").([]any)
			for _, a := range anys {
				types = append(types, fmt.Sprint(dig(a, "exact", "type")))
			}
		}
		if !reflect.DeepEqual(types, want.Types) {
			t.Errorf("%s filters on %v, want %v", want.Name, types, want.Types)
		}
		// Extension attributes: beside type in filter.attributes, or one exact filter each.
		attrs := map[string]string{}
		if len(want.Types) == 1 {
			m, _ := dig(tr, "spec", "filter", "attributes").(map[string]any)
			for k, val := range m {
				if k != "type" {
					attrs[k] = fmt.Sprint(val)
				}
			}
		} else {
			fs, _ := dig(tr, "spec", "filters").([]any)
			for _, f := range fs[min(1, len(fs)):] {
				m, _ := dig(f, "exact").(map[string]any)
				if len(m) != 1 {
					t.Errorf("%s: an exact filter must hold one attribute, got %v", want.Name, m)
				}
				for k, val := range m {
					attrs[k] = fmt.Sprint(val)
				}
			}
		}
		if len(attrs) > 0 || len(want.Attributes) > 0 {
			if !reflect.DeepEqual(attrs, want.Attributes) {
				t.Errorf("%s filters on attributes %v, want %v", want.Name, attrs, want.Attributes)
			}
		}
		if got := dig(tr, "spec", "subscriber", "ref", "name"); got != want.Subscriber {
			t.Errorf("%s subscriber %v, want %s", want.Name, got, want.Subscriber)
		}
		if got := dig(tr, "spec", "delivery", "deadLetterSink", "ref", "name"); got != want.Delivery.DeadLetterSink {
			t.Errorf("%s deadLetterSink %v, want %s", want.Name, got, want.Delivery.DeadLetterSink)
		}
		if got := dig(tr, "spec", "delivery", "retry"); fmt.Sprint(got) != fmt.Sprint(*want.Delivery.Retry) {
			t.Errorf("%s retry %v, want %d", want.Name, got, *want.Delivery.Retry)
		}
	}
	if n := len(byKind(docs, "KafkaSource")); n != len(v.Sources) {
		t.Errorf("%d KafkaSources, want %d", n, len(v.Sources))
	}
	for _, s := range v.Sources {
		ks := byKind(docs, "KafkaSource")[s.Name]
		if dig(ks, "spec", "ordering") != s.Ordering || dig(ks, "spec", "sink", "ref", "name") != s.Sink {
			t.Errorf("KafkaSource %s = %v", s.Name, ks["spec"])
		}
	}
	if n := len(byKind(docs, "PingSource")); n != len(v.PingSources) {
		t.Errorf("%d PingSources, want %d", n, len(v.PingSources))
	}
	if n := len(byKind(docs, "KafkaSink")); n != len(v.KafkaSinks) {
		t.Errorf("%d KafkaSinks, want %d", n, len(v.KafkaSinks))
	}
	brokers := byKind(docs, "Broker")
	if b := brokers[v.Broker.Name]; b == nil || dig(b, "metadata", "annotations", "eventing.knative.dev/broker.class") != "Kafka" {
		t.Errorf("Kafka Broker not rendered: %v", b)
	}
	dep := byKind(docs, "Deployment")["socket-edge"]
	grace, _ := dig(dep, "spec", "template", "spec", "terminationGracePeriodSeconds").(float64)
	var drain string
	for _, e := range dig(dep, "spec", "template", "spec", "containers", 0, "env").([]any) {
		if dig(e, "name") == "DRAIN_WINDOW" {
			drain = fmt.Sprint(dig(e, "value"))
		}
	}
	d, err := time.ParseDuration(drain)
	if err != nil || time.Duration(grace)*time.Second <= d {
		t.Errorf("terminationGracePeriodSeconds %v must exceed DRAIN_WINDOW %q", grace, drain)
	}
	for _, k := range []string{"HorizontalPodAutoscaler", "PodDisruptionBudget"} {
		if byKind(docs, k)["socket-edge"] == nil {
			t.Errorf("no %s for socket-edge", k)
		}
	}
	if byKind(docs, "ConfigMap")["parley-rules"] == nil {
		t.Error("no rules ConfigMap")
	}
}

// TestNetworkPoliciesLetEveryPodBeReached: with the production values the default-deny policy
// selects every pod of the chart, so each Deployment and Knative Service must also be selected by
// a policy that allows some ingress, or it is unreachable (the web client once was).
func TestNetworkPoliciesLetEveryPodBeReached(t *testing.T) {
	docs := renderChart(t, "values-production.yaml")
	var allow []map[string]any
	for _, np := range byKind(docs, "NetworkPolicy") {
		if ing, _ := dig(np, "spec", "ingress").([]any); len(ing) > 0 {
			allow = append(allow, np)
		}
	}
	if len(allow) == 0 {
		t.Fatal("production values render no NetworkPolicy that allows ingress")
	}
	selects := func(np map[string]any, labels map[string]any) bool {
		sel, _ := dig(np, "spec", "podSelector", "matchLabels").(map[string]any)
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return true
	}
	n := 0
	for _, kind := range []string{"Deployment", "Service"} {
		for name, obj := range byKind(docs, kind) {
			labels, _ := dig(obj, "spec", "template", "metadata", "labels").(map[string]any)
			if labels == nil {
				continue // a core Service
			}
			n++
			ok := false
			for _, np := range allow {
				ok = ok || selects(np, labels)
			}
			if !ok {
				t.Errorf("%s %s: no NetworkPolicy allows ingress to its pods (labels %v)", kind, name, labels)
			}
		}
	}
	if n == 0 {
		t.Fatal("no pod templates found")
	}
}
