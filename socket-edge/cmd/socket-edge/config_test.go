package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/socket-edge/edge"
)

func configOf(t *testing.T, env map[string]string) (config, error) {
	t.Helper()
	return loadConfig(func(k string) string { return env[k] })
}

func TestConfigDefaults(t *testing.T) {
	c, err := configOf(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := edge.Config{Addr: "127.0.0.1:8090", EdgeID: "edge-0", KafkaBrokers: []string{"127.0.0.1:9092"},
		BrokerTopic: "knative-broker-parley-default", DeliveryTopic: "im.delivery", RedisPrefix: "parley:"}
	if !reflect.DeepEqual(c.edge, want) {
		t.Errorf("edge:\n got %+v\nwant %+v (zero fields take edge's defaults)", c.edge, want)
	}
	if !reflect.DeepEqual(c.oidc, auth.OIDC{Issuer: "http://127.0.0.1:8080", Audience: "parley"}) {
		t.Errorf("oidc: %+v", c.oidc)
	}
	if c.keto != (keto.Config{ReadURL: "http://127.0.0.1:4466", WriteURL: "http://127.0.0.1:4467"}) || c.redis.Addr != "127.0.0.1:6379" {
		t.Errorf("keto %+v, redis %+v", c.keto, c.redis)
	}
}

func TestConfigSet(t *testing.T) {
	c, err := configOf(t, map[string]string{"EDGE_ADDR": ":9", "EDGE_ID": "e1", "ALLOWED_ORIGINS": "https://a, https://b",
		"DRAIN_WINDOW": "3s", "COMMAND_DEADLINE": "2s", "MAX_PENDING_COMMANDS": "30", "SEND_LIMIT_MIN": "off",
		"SHED_DELIVERY_LAG": "250ms", "SHED_ANSWER_LATENCY": "off", "ACK_RATE_LIMIT": "5/10", "OIDC_AUDIENCE": "app", "DELIVERY_TOPIC": "d"})
	if err != nil {
		t.Fatal(err)
	}
	e := c.edge
	if e.Addr != ":9" || e.EdgeID != "e1" || !reflect.DeepEqual(e.AllowedOrigins, []string{"https://a", "https://b"}) ||
		e.DrainWindow != 3*time.Second || e.CommandDeadline != 2*time.Second || e.MaxPendingPerEdge != 30 ||
		e.SendLimitMin != -1 || e.ShedDeliveryLag != 250*time.Millisecond || e.ShedAnswerLatency != -1 ||
		e.AckRateLimit != 5 || e.AckBurst != 10 || c.oidc.Audience != "app" || e.DeliveryTopic != "d" {
		t.Errorf("set: %+v, oidc %+v", e, c.oidc)
	}
}

// Every malformed setting is reported, by key, in one error.
func TestConfigReportsEveryMistake(t *testing.T) {
	_, err := configOf(t, map[string]string{"DRAIN_WINDOW": "soon", "MAX_PENDING_COMMANDS": "0", "SEND_LIMIT_MIN": "none",
		"SHED_DELIVERY_LAG": "-1s", "ACK_RATE_LIMIT": "fast", "KAFKA_TLS": "maybe", "REDIS_TLS": "maybe"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"DRAIN_WINDOW", "MAX_PENDING_COMMANDS", "SEND_LIMIT_MIN", "SHED_DELIVERY_LAG",
		"ACK_RATE_LIMIT", "KAFKA_TLS", "REDIS_TLS"} {
		if !strings.Contains(err.Error(), key+":") {
			t.Errorf("%s not reported in %v", key, err)
		}
	}
}
