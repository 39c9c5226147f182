package routing_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"
)

// renderChart renders charts/parley with the values file, using Go templates and the handful of
// Helm/sprig functions the chart uses (there is no helm binary here). It catches template and YAML
// mistakes and checks the routing objects say what values.yaml says.
func renderChart(t *testing.T) []map[string]any {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "../../../charts/parley")
	raw, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	root := template.New("chart").Option("missingkey=zero")
	empty := func(v any) bool {
		if v == nil {
			return true
		}
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.String, reflect.Slice, reflect.Map:
			return rv.Len() == 0
		case reflect.Bool:
			return !rv.Bool()
		}
		return rv.IsZero()
	}
	indent := func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	}
	root.Funcs(template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b bytes.Buffer
			err := root.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		"indent":  indent,
		"trim":    strings.TrimSpace,
		"quote":   func(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) },
		"toYaml": func(v any) (string, error) {
			b, err := yaml.Marshal(v)
			return strings.TrimSuffix(string(b), "\n"), err
		},
		"default": func(def, v any) any {
			if empty(v) {
				return def
			}
			return v
		},
		"hasKey": func(m map[string]any, k string) bool { _, ok := m[k]; return ok },
		"list":   func(v ...any) []any { return v },
	})
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
