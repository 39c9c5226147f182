// Package routing reads charts/parley/values.yaml, the one routing file the Helm chart renders
// into Knative objects and the local platform follows: functions with their public routes,
// Triggers, KafkaSources, PingSources and dead-letter sinks. Keeping one parser here means local
// and cluster routing cannot drift.
package routing

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Values is the part of values.yaml that routing needs (images, resources... are the chart's only).
type Values struct {
	Namespace   string       `json:"namespace"`
	Broker      Broker       `json:"broker"`
	Topics      Topics       `json:"topics"`
	KafkaSinks  []KafkaSink  `json:"kafkaSinks"`
	Functions   []Function   `json:"functions"`
	Triggers    []Trigger    `json:"triggers"`
	Sources     []Source     `json:"sources"`
	PingSources []PingSource `json:"pingSources"`
	SocketEdge  SocketEdge   `json:"socketEdge"`
}

// Broker is the Knative Kafka Broker.
type Broker struct {
	Name     string   `json:"name"`
	Topic    string   `json:"topic"`
	Delivery Delivery `json:"delivery"`
}

// Topics Parley's own code writes.
type Topics struct {
	Delivery string `json:"delivery"`
	S3Events string `json:"s3Events"`
}

// KafkaSink is a dead-letter sink writing to a topic.
type KafkaSink struct {
	Name  string `json:"name"`
	Topic string `json:"topic"`
}

// Function is one Knative Service.
type Function struct {
	Name      string   `json:"name"`
	LocalPort int      `json:"localPort"`
	Routes    []string `json:"routes"`
}

// Trigger is one Knative Trigger on the broker.
type Trigger struct {
	Name       string   `json:"name"`
	Subscriber string   `json:"subscriber"`
	Types      []string `json:"types"`
	// Attributes are exact matches on CloudEvent extension attributes, ANDed with the type filter
	// (Knative's filter.attributes beside type, or an exact filter beside the any-of-types).
	Attributes map[string]string `json:"attributes"`
	Ordering   string            `json:"ordering"`
	Delivery   Delivery          `json:"delivery"`
}

// Source is one KafkaSource.
type Source struct {
	Name          string   `json:"name"`
	Topics        []string `json:"topics"`
	ConsumerGroup string   `json:"consumerGroup"`
	Sink          string   `json:"sink"`
	Ordering      string   `json:"ordering"`
	InitialOffset string   `json:"initialOffset"`
	Delivery      Delivery `json:"delivery"`
}

// PingSource is one Knative PingSource.
type PingSource struct {
	Name          string `json:"name"`
	Schedule      string `json:"schedule"`
	LocalInterval string `json:"localInterval"`
	Sink          string `json:"sink"`
	ContentType   string `json:"contentType"`
	Data          string `json:"data"`
}

// SocketEdge is the WebSocket Deployment, as far as routing goes.
type SocketEdge struct {
	LocalPortBase int      `json:"localPortBase"`
	Routes        []string `json:"routes"`
}

// Delivery is Knative's DeliverySpec with ISO-8601 durations; DeadLetterSink names a KafkaSink.
type Delivery struct {
	Retry          *int   `json:"retry"`
	BackoffPolicy  string `json:"backoffPolicy"`
	BackoffDelay   string `json:"backoffDelay"`
	Timeout        string `json:"timeout"`
	DeadLetterSink string `json:"deadLetterSink"`
}

// Ordering values.
const (
	Ordered   = "ordered"
	Unordered = "unordered"
)

// Load reads and validates a values file.
func Load(path string) (*Values, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("routing values: %w", err)
	}
	return Parse(b)
}

// Parse reads and validates values YAML.
func Parse(b []byte) (*Values, error) {
	var v Values
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("routing values: %w", err)
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("routing values: %w", err)
	}
	return &v, nil
}

var (
	dnsLabel      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	extensionName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)
)

// Validate checks references and names so a typo fails at start, not as a silently dead route.
func (v *Values) Validate() error {
	var errs []error
	if v.Namespace == "" || v.Broker.Topic == "" || v.Broker.Name == "" {
		errs = append(errs, errors.New("namespace, broker.name and broker.topic are required"))
	}
	fns := map[string]bool{}
	ports := map[int]string{}
	for _, f := range v.Functions {
		if !dnsLabel.MatchString(f.Name) {
			errs = append(errs, fmt.Errorf("function name %q is not a DNS label", f.Name))
		}
		if fns[f.Name] {
			errs = append(errs, fmt.Errorf("function %q listed twice", f.Name))
		}
		fns[f.Name] = true
		if f.LocalPort <= 0 || f.LocalPort > 65535 {
			errs = append(errs, fmt.Errorf("function %q: localPort %d out of range", f.Name, f.LocalPort))
		} else if o, dup := ports[f.LocalPort]; dup {
			errs = append(errs, fmt.Errorf("functions %q and %q share localPort %d", o, f.Name, f.LocalPort))
		}
		ports[f.LocalPort] = f.Name
		for _, r := range f.Routes {
			if _, err := ParseRoute(r); err != nil {
				errs = append(errs, fmt.Errorf("function %q: %w", f.Name, err))
			}
		}
	}
	for _, r := range v.SocketEdge.Routes {
		if _, err := ParseRoute(r); err != nil {
			errs = append(errs, fmt.Errorf("socketEdge: %w", err))
		}
	}
	sinks := map[string]bool{}
	for _, s := range v.KafkaSinks {
		if s.Name == "" || s.Topic == "" {
			errs = append(errs, fmt.Errorf("kafkaSink %+v needs name and topic", s))
		}
		sinks[s.Name] = true
	}
	checkDelivery := func(what string, d Delivery) {
		if _, err := d.Parse(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
		if d.DeadLetterSink != "" && !sinks[d.DeadLetterSink] {
			errs = append(errs, fmt.Errorf("%s: deadLetterSink %q is not a kafkaSink", what, d.DeadLetterSink))
		}
	}
	checkDelivery("broker", v.Broker.Delivery)
	names := map[string]bool{}
	for _, t := range v.Triggers {
		what := fmt.Sprintf("trigger %q", t.Name)
		if !dnsLabel.MatchString(t.Name) || names[t.Name] {
			errs = append(errs, fmt.Errorf("%s: name must be a unique DNS label", what))
		}
		names[t.Name] = true
		if !fns[t.Subscriber] {
			errs = append(errs, fmt.Errorf("%s: subscriber %q is not a function", what, t.Subscriber))
		}
		if len(t.Types) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one type to filter on", what))
		}
		if t.Ordering != Ordered && t.Ordering != Unordered {
			errs = append(errs, fmt.Errorf("%s: ordering %q must be ordered or unordered", what, t.Ordering))
		}
		for k, val := range t.Attributes {
			if !extensionName.MatchString(k) || k == "type" || val == "" {
				errs = append(errs, fmt.Errorf("%s: attribute %q=%q: want a CloudEvents extension name (a-z, 0-9, at most 20) and a value", what, k, val))
			}
		}
		checkDelivery(what, t.Delivery)
	}
	for _, s := range v.Sources {
		what := fmt.Sprintf("source %q", s.Name)
		if !dnsLabel.MatchString(s.Name) || names[s.Name] {
			errs = append(errs, fmt.Errorf("%s: name must be a unique DNS label", what))
		}
		names[s.Name] = true
		if !fns[s.Sink] {
			errs = append(errs, fmt.Errorf("%s: sink %q is not a function", what, s.Sink))
		}
		if len(s.Topics) == 0 || s.ConsumerGroup == "" {
			errs = append(errs, fmt.Errorf("%s: topics and consumerGroup are required", what))
		}
		if s.Ordering != Ordered && s.Ordering != Unordered {
			errs = append(errs, fmt.Errorf("%s: ordering %q must be ordered or unordered", what, s.Ordering))
		}
		if s.InitialOffset != "" && s.InitialOffset != "earliest" && s.InitialOffset != "latest" {
			errs = append(errs, fmt.Errorf("%s: initialOffset must be earliest or latest", what))
		}
		checkDelivery(what, s.Delivery)
	}
	for _, p := range v.PingSources {
		what := fmt.Sprintf("pingSource %q", p.Name)
		if !dnsLabel.MatchString(p.Name) || names[p.Name] {
			errs = append(errs, fmt.Errorf("%s: name must be a unique DNS label", what))
		}
		names[p.Name] = true
		if !fns[p.Sink] {
			errs = append(errs, fmt.Errorf("%s: sink %q is not a function", what, p.Sink))
		}
		if p.Schedule == "" {
			errs = append(errs, fmt.Errorf("%s: schedule is required", what))
		}
		if p.LocalInterval != "" {
			if d, err := time.ParseDuration(p.LocalInterval); err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: localInterval %q is not a positive duration", what, p.LocalInterval))
			}
		}
	}
	return errors.Join(errs...)
}

// SinkTopic returns the topic of the named KafkaSink ("" when name is empty).
func (v *Values) SinkTopic(name string) string {
	for _, s := range v.KafkaSinks {
		if s.Name == name {
			return s.Topic
		}
	}
	return ""
}

// Function returns the named function.
func (v *Values) Function(name string) (Function, bool) {
	for _, f := range v.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// DeliveryParams is a Delivery with parsed durations and defaults applied.
type DeliveryParams struct {
	Retry          int
	Exponential    bool
	BackoffDelay   time.Duration
	Timeout        time.Duration
	DeadLetterSink string
}

// Parse applies Knative's defaults where a field is missing: retry 0 unless set, exponential,
// backoffDelay 0.2s, per-attempt timeout 30s.
func (d Delivery) Parse() (DeliveryParams, error) {
	p := DeliveryParams{Exponential: true, BackoffDelay: 200 * time.Millisecond, Timeout: 30 * time.Second,
		DeadLetterSink: d.DeadLetterSink}
	if d.Retry != nil {
		if *d.Retry < 0 {
			return p, fmt.Errorf("delivery.retry %d < 0", *d.Retry)
		}
		p.Retry = *d.Retry
	}
	switch d.BackoffPolicy {
	case "", "exponential":
	case "linear":
		p.Exponential = false
	default:
		return p, fmt.Errorf("delivery.backoffPolicy %q must be exponential or linear", d.BackoffPolicy)
	}
	var err error
	if d.BackoffDelay != "" {
		if p.BackoffDelay, err = ParseISODuration(d.BackoffDelay); err != nil {
			return p, fmt.Errorf("delivery.backoffDelay: %w", err)
		}
	}
	if d.Timeout != "" {
		if p.Timeout, err = ParseISODuration(d.Timeout); err != nil {
			return p, fmt.Errorf("delivery.timeout: %w", err)
		}
	}
	return p, nil
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// ParseISODuration reads the ISO-8601 durations Knative uses (PT0.2S, PT30S, PT1M, P1DT2H).
func ParseISODuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || s == "P" || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, fmt.Errorf("%q is not an ISO-8601 duration like PT0.2S", s)
	}
	var d time.Duration
	units := []time.Duration{24 * time.Hour, time.Hour, time.Minute}
	for i, u := range units {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * u
		}
	}
	if m[4] != "" {
		f, _ := strconv.ParseFloat(m[4], 64)
		d += time.Duration(f * float64(time.Second))
	}
	return d, nil
}
