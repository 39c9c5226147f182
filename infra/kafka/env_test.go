package kafka_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/envconf"
	"github.com/parley-im/parley/infra/kafka"
)

func TestFromEnv(t *testing.T) {
	env := map[string]string{"KAFKA_BROKERS": "k1:9092, k2:9092", "KAFKA_BATCH_TIMEOUT": "100us",
		"KAFKA_TLS": "true", "KAFKA_TLS_CA_FILE": "/etc/kafka/ca.pem",
		"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "parley", "KAFKA_SASL_PASSWORD": "pw",
		"KAFKA_AWS_REGION": "eu-west-1", "KAFKA_TLS_SERVER_NAME": "kafka.internal"}
	r := envconf.New(func(k string) string { return env[k] })
	s := kafka.FromEnv(r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	want := kafka.SecurityConfig{TLS: true, CAFile: "/etc/kafka/ca.pem", ServerName: "kafka.internal",
		SASLMechanism: "SCRAM-SHA-512", Username: "parley", Password: "pw", AWSRegion: "eu-west-1"}
	if s.Security != want || !slices.Equal(s.Brokers, []string{"k1:9092", "k2:9092"}) || s.BatchTimeout != 100*time.Microsecond {
		t.Errorf("FromEnv = %+v, want %+v", s, want)
	}

	r = envconf.New(func(string) string { return "" })
	if d := kafka.FromEnv(r); !slices.Equal(d.Brokers, []string{kafka.DefaultBrokers}) || d.Security.TLS || d.BatchTimeout != 0 || r.Err() != nil {
		t.Errorf("defaults = %+v, %v", d, r.Err())
	}

	// A typo never silently means plaintext, and a negative wait is refused.
	env["KAFKA_TLS"], env["KAFKA_BATCH_TIMEOUT"] = "yes please", "-1ms"
	r = envconf.New(func(k string) string { return env[k] })
	kafka.FromEnv(r)
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "KAFKA_TLS:") || !strings.Contains(err.Error(), "KAFKA_BATCH_TIMEOUT:") {
		t.Errorf("malformed settings: err = %v", err)
	}
}
