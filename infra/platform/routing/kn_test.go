package routing_test

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/parley-im/parley/infra/platform/routing"
)

var update = flag.Bool("update", false, "rewrite the generated block of docs/deploy.md")

const (
	knBegin = "<!-- BEGIN kn commands: generated from charts/parley/values.yaml by infra/platform/routing/kn_test.go; do not edit -->"
	knEnd   = "<!-- END kn commands -->"
)

// scaleValues is the part of values.yaml the chart's functions.yaml reads besides routing.
type scaleValues struct {
	Image struct {
		Registry string `json:"registry"`
		Tag      string `json:"tag"`
	} `json:"image"`
	Kafka struct {
		BootstrapServers string `json:"bootstrapServers"`
	} `json:"kafka"`
	Secrets struct {
		Name string `json:"name"`
	} `json:"secrets"`
	FunctionDefaults struct {
		ContainerConcurrency int       `json:"containerConcurrency"`
		TimeoutSeconds       int       `json:"timeoutSeconds"`
		Scale                scale     `json:"scale"`
		Resources            resources `json:"resources"`
	} `json:"functionDefaults"`
	Functions []struct {
		Name                 string     `json:"name"`
		Scale                *scale     `json:"scale"`
		ContainerConcurrency int        `json:"containerConcurrency"`
		TimeoutSeconds       int        `json:"timeoutSeconds"`
		Resources            *resources `json:"resources"`
	} `json:"functions"`
	HotFunctions map[string]struct {
		MinScale             int    `json:"minScale"`
		TargetBurstCapacity  string `json:"targetBurstCapacity"`
		ContainerConcurrency int    `json:"containerConcurrency"`
		Target               int    `json:"target"`
	} `json:"hotFunctions"`
	Gateway struct {
		Enabled bool `json:"enabled"`
	} `json:"gateway"`
	Web struct {
		Enabled              bool      `json:"enabled"`
		ContainerConcurrency int       `json:"containerConcurrency"`
		Scale                scale     `json:"scale"`
		Resources            resources `json:"resources"`
	} `json:"web"`
}

// webTimeoutSeconds is templates/web.yaml's timeoutSeconds (not a value).
const webTimeoutSeconds = 30

type scale struct {
	Min            int    `json:"min"`
	Max            int    `json:"max"`
	Target         int    `json:"target"`
	Window         string `json:"window"`
	ScaleDownDelay string `json:"scaleDownDelay"`
}

type resources struct {
	Requests map[string]string `json:"requests"`
	Limits   map[string]string `json:"limits"`
}

// knCommands renders, from values.yaml, the kn (and, where kn has no flag, kubectl) commands that
// create what charts/parley renders: the same names, images, scale and delivery settings.
func knCommands(v *routing.Values, s scaleValues) string {
	var b strings.Builder
	ns := v.Namespace
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	kv := func(m map[string]string) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+m[k])
		}
		return strings.Join(parts, ",")
	}

	for i, k := range knServices(v, s) {
		if i == 0 {
			w("### Functions (one Knative Service each)\n\n```sh\n")
		}
		if k.image == "parley-web" {
			w("```\n\n### The web client\n\n")
			w("`cmd/parley-web` serving the build of `web/` (the image carries it). It belongs on the API host (it calls the API on its own origin): the chart's `parley-api` HTTPRoute sends it every `GET`/`HEAD` that no API route takes; without that route, your ingress must do the same.\n\n```sh\n")
		}
		w("kn service create %s --namespace %s \\\n", k.name, ns)
		w("  --image %s/%s:%s \\\n", s.Image.Registry, k.image, s.Image.Tag)
		if k.function {
			w("  --env-from config-map:parley-config --env-from secret:%s \\\n", s.Secrets.Name)
			w("  --mount /etc/parley/rules=cm:parley-rules \\\n")
		}
		w("  --scale-min %d --scale-max %d --scale-target %d --scale-metric concurrency", k.min, k.max, k.target)
		if k.window != "" {
			w(" --scale-window %s", k.window)
		}
		w(" \\\n  --concurrency-limit %d --timeout %d \\\n", k.concurrency, k.timeout)
		w("  --request %s --limit %s \\\n", kv(k.res.Requests), kv(k.res.Limits))
		w("  --probe-readiness http:::/readyz --probe-liveness http:::/healthz \\\n")
		if k.scaleDownDelay != "" {
			w("  --annotation-revision autoscaling.knative.dev/scale-down-delay=%s \\\n", k.scaleDownDelay)
		}
		if k.burst != "" {
			w("  --annotation-revision autoscaling.knative.dev/target-burst-capacity=%s \\\n", k.burst)
		}
		w("  --label app.kubernetes.io/part-of=parley")
		if k.function {
			w(" --label-revision app.kubernetes.io/component=function")
		}
		if k.clusterLocal {
			w(" \\\n  --cluster-local")
		}
		w("\n")
	}
	w("```\n\n")

	w("### Broker and dead-letter sinks\n\n")
	w("kn has no KafkaSink command: apply the chart's (`helm template parley charts/parley -s templates/broker.yaml | kubectl apply -f -` creates them with the broker's ConfigMap).\n\n```sh\n")
	d := v.Broker.Delivery
	w("kn broker create %s --namespace %s --class Kafka --broker-config cm:kafka-broker-config \\\n", v.Broker.Name, ns)
	w("  --dl-sink kafkasinks.v1alpha1.eventing.knative.dev:%s \\\n", d.DeadLetterSink)
	w("  --retry %d --backoff-policy %s --backoff-delay %s\n", *d.Retry, d.BackoffPolicy, d.BackoffDelay)
	if d.Timeout != "" {
		w("kubectl -n %s patch broker %s --type merge -p '{\"spec\":{\"delivery\":{\"timeout\":\"%s\"}}}'\n", ns, v.Broker.Name, d.Timeout)
	}
	w("```\n\n")

	w("### Triggers\n\n")
	w("`kn trigger create --filter` ANDs exact attributes, so a trigger on several types (the chart's `filters: [{any: ...}]`) has no kn form: apply the chart's YAML for it. Ordering and delivery have no kn flags either: each kn command is followed by the `kubectl` patch that sets them.\n\n```sh\n")
	for _, t := range v.Triggers {
		if len(t.Types) > 1 {
			w("# %s: %d types (%s ... %s) -> %s: no kn form\n", t.Name, len(t.Types), t.Types[0], t.Types[len(t.Types)-1], t.Subscriber)
			w("helm template parley charts/parley -s templates/triggers.yaml | yq 'select(.metadata.name == \"%s\")' | kubectl apply -f -\n", t.Name)
			continue
		}
		filters := "--filter type=" + t.Types[0]
		for _, k := range slices.Sorted(maps.Keys(t.Attributes)) {
			filters += " --filter " + k + "=" + t.Attributes[k]
		}
		w("kn trigger create %s --namespace %s --broker %s %s --sink ksvc:%s\n", t.Name, ns, v.Broker.Name, filters, t.Subscriber)
		w("kubectl -n %s annotate trigger %s kafka.eventing.knative.dev/delivery.order=%s\n", ns, t.Name, t.Ordering)
		w("kubectl -n %s patch trigger %s --type merge -p '%s'\n", ns, t.Name, deliveryPatch(t.Delivery, ns))
	}
	w("```\n\n")

	w("### Sources\n\n```sh\n")
	for _, src := range v.Sources {
		w("kn source kafka create %s --namespace %s --servers %s \\\n", src.Name, ns, s.Kafka.BootstrapServers)
		w("  --topics %s --consumergroup %s --sink ksvc:%s\n", strings.Join(src.Topics, ","), src.ConsumerGroup, src.Sink)
		init := src.InitialOffset
		if init == "" {
			init = "earliest"
		}
		w("kubectl -n %s patch kafkasource %s --type merge -p '{\"spec\":{\"ordering\":\"%s\",\"initialOffset\":\"%s\"}}'\n", ns, src.Name, src.Ordering, init)
		w("kubectl -n %s patch kafkasource %s --type merge -p '%s'\n", ns, src.Name, deliveryPatch(src.Delivery, ns))
	}
	for _, p := range v.PingSources {
		w("kn source ping create %s --namespace %s --schedule %q --data '%s' --sink ksvc:%s\n", p.Name, ns, p.Schedule, p.Data, p.Sink)
		if p.ContentType != "" {
			w("kubectl -n %s patch pingsource %s --type merge -p '{\"spec\":{\"contentType\":\"%s\"}}'\n", ns, p.Name, p.ContentType)
		}
	}
	w("```\n")
	return b.String()
}

// knService is what a kn service create says about one function.
type knService struct {
	name, image                   string
	function                      bool // env, rules mount and the component label of a function
	min, max, target              int
	concurrency, timeout          int
	window, scaleDownDelay, burst string
	res                           resources
	clusterLocal                  bool
}

// knServices applies values.yaml's defaults and hotFunctions overrides as functions.yaml does, and
// adds the web client's Service (web.yaml) last when web.enabled.
func knServices(v *routing.Values, s scaleValues) []knService {
	var out []knService
	for _, f := range s.Functions {
		rf, _ := v.Function(f.Name)
		sc := s.FunctionDefaults.Scale
		if f.Scale != nil {
			sc = *f.Scale
		}
		k := knService{name: f.Name, image: f.Name, function: true, min: sc.Min, max: sc.Max, target: sc.Target, window: sc.Window,
			scaleDownDelay: sc.ScaleDownDelay, concurrency: s.FunctionDefaults.ContainerConcurrency,
			timeout: s.FunctionDefaults.TimeoutSeconds, res: s.FunctionDefaults.Resources,
			clusterLocal: len(rf.Routes) == 0 || s.Gateway.Enabled}
		if f.ContainerConcurrency > 0 {
			k.concurrency = f.ContainerConcurrency
		}
		if f.TimeoutSeconds > 0 {
			k.timeout = f.TimeoutSeconds
		}
		if f.Resources != nil {
			k.res = *f.Resources
		}
		if h, ok := s.HotFunctions[f.Name]; ok {
			k.min = max(k.min, h.MinScale)
			if h.Target > 0 {
				k.target = h.Target
			}
			if h.ContainerConcurrency > 0 {
				k.concurrency = h.ContainerConcurrency
			}
			k.burst = h.TargetBurstCapacity
		}
		out = append(out, k)
	}
	if w := s.Web; w.Enabled {
		out = append(out, knService{name: "web", image: "parley-web", min: w.Scale.Min, max: w.Scale.Max,
			target: w.Scale.Target, concurrency: w.ContainerConcurrency, timeout: webTimeoutSeconds,
			res: w.Resources, clusterLocal: s.Gateway.Enabled})
	}
	return out
}

// deliveryPatch is the JSON merge patch of a delivery block, as the chart's parley.delivery renders it.
func deliveryPatch(d routing.Delivery, ns string) string {
	var parts []string
	if d.Retry != nil {
		parts = append(parts, fmt.Sprintf(`"retry":%d`, *d.Retry))
	}
	if d.BackoffPolicy != "" {
		parts = append(parts, fmt.Sprintf(`"backoffPolicy":"%s"`, d.BackoffPolicy))
	}
	if d.BackoffDelay != "" {
		parts = append(parts, fmt.Sprintf(`"backoffDelay":"%s"`, d.BackoffDelay))
	}
	if d.Timeout != "" {
		parts = append(parts, fmt.Sprintf(`"timeout":"%s"`, d.Timeout))
	}
	if d.DeadLetterSink != "" {
		parts = append(parts, fmt.Sprintf(`"deadLetterSink":{"ref":{"apiVersion":"eventing.knative.dev/v1alpha1","kind":"KafkaSink","name":"%s","namespace":"%s"}}`, d.DeadLetterSink, ns))
	}
	return `{"spec":{"delivery":{` + strings.Join(parts, ",") + `}}}`
}

// TestDeployDocKnCommandsMatchValues keeps docs/deploy.md's kn commands rendered from values.yaml:
// change routing or scale there, then `go test ./infra/platform/routing -run DeployDoc -update`.
func TestDeployDocKnCommandsMatchValues(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "../../..")
	raw, err := os.ReadFile(filepath.Join(root, "charts/parley/values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := routing.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var s scaleValues
	if err := yaml.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	want := knCommands(v, s)
	// Every function, trigger and source appears.
	for _, f := range v.Functions {
		if !strings.Contains(want, "kn service create "+f.Name+" ") {
			t.Errorf("no kn service create for %s", f.Name)
		}
	}
	if s.Web.Enabled && !strings.Contains(want, "kn service create web ") {
		t.Error("no kn service create for the web client")
	}
	for _, tr := range v.Triggers {
		if !strings.Contains(want, " "+tr.Name+" ") && !strings.Contains(want, "# "+tr.Name+":") {
			t.Errorf("trigger %s missing", tr.Name)
		}
	}

	// The kn flags say what the chart renders: same scale, concurrency, timeout, burst, visibility.
	chart := byKind(renderChart(t), "Service")
	for _, k := range knServices(v, s) {
		svc := chart[k.name]
		if img := fmt.Sprint(dig(svc, "spec", "template", "spec", "containers", 0, "image")); img != s.Image.Registry+"/"+k.image+":"+s.Image.Tag {
			t.Errorf("%s: chart image %s, kn image %s/%s:%s", k.name, img, s.Image.Registry, k.image, s.Image.Tag)
		}
		ann := func(a string) string {
			return fmt.Sprint(dig(svc, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/"+a))
		}
		spec := func(f string) string { return fmt.Sprint(dig(svc, "spec", "template", "spec", f)) }
		vis := dig(svc, "metadata", "labels", "networking.knative.dev/visibility") == "cluster-local"
		got := fmt.Sprintf("min %s max %s target %s window %s delay %s burst %s cc %s timeout %s local %v",
			ann("min-scale"), ann("max-scale"), ann("target"), ann("window"), ann("scale-down-delay"),
			ann("target-burst-capacity"), spec("containerConcurrency"), spec("timeoutSeconds"), vis)
		orNil := func(s string) string {
			if s == "" {
				return "<nil>"
			}
			return s
		}
		want := fmt.Sprintf("min %d max %d target %d window %s delay %s burst %s cc %d timeout %d local %v",
			k.min, k.max, k.target, orNil(k.window), orNil(k.scaleDownDelay), orNil(k.burst), k.concurrency, k.timeout, k.clusterLocal)
		if got != want {
			t.Errorf("%s: chart renders %s; kn commands say %s", k.name, got, want)
		}
	}

	docPath := filepath.Join(root, "docs/deploy.md")
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), knBegin)
	_, after, ok2 := strings.Cut(rest, knEnd)
	if !ok1 || !ok2 {
		t.Fatalf("docs/deploy.md lacks the markers %q ... %q", knBegin, knEnd)
	}
	got := strings.TrimPrefix(rest[:len(rest)-len(after)-len(knEnd)], "\n")
	if got == want {
		return
	}
	if *update {
		out := before + knBegin + "\n" + want + knEnd + after
		if err := os.WriteFile(docPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("docs/deploy.md rewritten")
		return
	}
	t.Errorf("docs/deploy.md's kn commands differ from values.yaml; run\n  go test ./infra/platform/routing -run DeployDoc -update\n--- got\n%s\n--- want\n%s", got, want)
}
