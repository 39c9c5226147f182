package boot

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/redis"
)

func TestEnvDefaults(t *testing.T) {
	got := Env(func(string) string { return "" })
	got.getenv = nil
	want := Config{
		Listen:            ":8080",
		DatabaseURL:       "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable",
		RedisAddr:         "127.0.0.1:6379",
		RedisPrefix:       "parley:",
		Redis:             redis.Config{Addr: "127.0.0.1:6379", Prefix: "parley:"},
		KafkaBrokers:      []string{"127.0.0.1:9092"},
		BrokerTopic:       "knative-broker-parley-default",
		BrokerURL:         "http://127.0.0.1:8081",
		OIDCIssuer:        "http://127.0.0.1:8080",
		Audience:          "parley",
		KetoRead:          "http://127.0.0.1:4466",
		KetoWrite:         "http://127.0.0.1:4467",
		TrustForwardedFor: true,
		UserLimit:         ratelimit.PerSecond(100, 200),
		IPLimit:           ratelimit.PerSecond(2000, 4000),
		MaxConcurrent:     256,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Env defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestEnvSet(t *testing.T) {
	env := map[string]string{
		"PORT": "9000", "MIGRATE": "true", "KAFKA_BROKERS": " a:1, ,b:2 ", "OIDC_ALGORITHMS": "ES256",
		"TRUST_FORWARDED_FOR": "false", "LOG_LEVEL": "debug",
	}
	c := Env(func(k string) string { return env[k] })
	if c.Listen != ":9000" || !c.Migrate || !reflect.DeepEqual(c.KafkaBrokers, []string{"a:1", "b:2"}) ||
		!reflect.DeepEqual(c.Algorithms, []string{"ES256"}) || c.TrustForwardedFor || c.LogLevel != "debug" {
		t.Fatalf("Env: %+v", c)
	}
	if c.Err() != nil || c.KafkaSecurity.TLS || c.Redis.TLS {
		t.Fatalf("plaintext by default: err %v, kafka %+v, redis %+v", c.Err(), c.KafkaSecurity, c.Redis)
	}
	env["LISTEN_ADDRESS"] = "127.0.0.1:1"
	if c := Env(func(k string) string { return env[k] }); c.Listen != "127.0.0.1:1" {
		t.Fatalf("LISTEN_ADDRESS wins over PORT: %q", c.Listen)
	}
}

func TestEnvManagedServices(t *testing.T) {
	env := map[string]string{
		"KAFKA_BROKERS": "b-1.msk:9096", "KAFKA_TLS": "true", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
		"KAFKA_SASL_USERNAME": "parley", "KAFKA_SASL_PASSWORD": "kpw",
		"REDIS_ADDR": "master.cache:6379", "REDIS_TLS": "true", "REDIS_USERNAME": "parley", "REDIS_PASSWORD": "rpw",
		"REDIS_PREFIX": "p:",
	}
	c := Env(func(k string) string { return env[k] })
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	if want := (kafka.SecurityConfig{TLS: true, SASLMechanism: "SCRAM-SHA-512", Username: "parley", Password: "kpw"}); c.KafkaSecurity != want {
		t.Errorf("KafkaSecurity = %+v, want %+v", c.KafkaSecurity, want)
	}
	if want := (redis.Config{Addr: "master.cache:6379", Prefix: "p:", TLS: true, Username: "parley", Password: "rpw"}); c.Redis != want {
		t.Errorf("Redis = %+v, want %+v", c.Redis, want)
	}
	if c.RedisPrefix != "p:" || c.RedisAddr != "master.cache:6379" {
		t.Errorf("RedisAddr/RedisPrefix = %q %q", c.RedisAddr, c.RedisPrefix)
	}
	// A malformed switch stops the process at New instead of silently meaning plaintext.
	env["KAFKA_TLS"], env["REDIS_TLS"] = "yes", "yes"
	c = Env(func(k string) string { return env[k] })
	if c.Err() == nil {
		t.Fatal("KAFKA_TLS=yes / REDIS_TLS=yes accepted")
	}
	if _, err := New(context.Background(), c, nil); err == nil {
		t.Fatal("New started with a malformed setting")
	}
}

func TestAccessors(t *testing.T) {
	env := map[string]string{"N": "12", "BAD": "x", "D": "3s", "L": "5/10", "OFF": "off"}
	c := Env(func(k string) string { return env[k] })
	if c.Int("N", 1) != 12 || c.Int("BAD", 1) != 1 || c.Int("UNSET", 7) != 7 {
		t.Fatal("Int: value, malformed and unset")
	}
	if d, err := c.Duration("D", time.Second); err != nil || d != 3*time.Second {
		t.Fatalf("Duration: %v %v", d, err)
	}
	if d, err := c.Duration("UNSET", time.Second); err != nil || d != time.Second {
		t.Fatalf("Duration unset: %v %v", d, err)
	}
	if _, err := c.Duration("BAD", time.Second); err == nil {
		t.Fatal("Duration: a malformed value is an error")
	}
	def := ratelimit.PerSecond(1, 2)
	for key, want := range map[string]ratelimit.Limit{"L": ratelimit.PerSecond(5, 10), "OFF": {}, "UNSET": def} {
		if got, err := c.Limit(key, def); err != nil || got != want {
			t.Fatalf("Limit %s: %+v %v", key, got, err)
		}
	}
	if _, err := c.Limit("BAD", def); err == nil {
		t.Fatal("Limit: a malformed value is an error")
	}
	if (Config{}).Value("N", "d") != "d" {
		t.Fatal("a Config not made by Env answers defaults")
	}
}

// The access layer's limits are read with the rest, but a malformed one only stops Guard: a
// function without public routes starts regardless.
func TestEnvGuardLimits(t *testing.T) {
	env := map[string]string{"RATE_LIMIT_USER": "off", "RATE_LIMIT_IP": "5/10", "MAX_CONCURRENT": "8"}
	c := Env(func(k string) string { return env[k] })
	if c.UserLimit != (ratelimit.Limit{}) || c.IPLimit != ratelimit.PerSecond(5, 10) || c.MaxConcurrent != 8 || c.guardErr != nil {
		t.Fatalf("limits: %+v %+v %d %v", c.UserLimit, c.IPLimit, c.MaxConcurrent, c.guardErr)
	}
	for _, bad := range []map[string]string{{"RATE_LIMIT_USER": "fast"}, {"RATE_LIMIT_IP": "1/"}, {"MAX_CONCURRENT": "-1"}} {
		c := Env(func(k string) string { return bad[k] })
		if c.guardErr == nil || c.Err() != nil {
			t.Errorf("%v: guard error %v, config error %v", bad, c.guardErr, c.Err())
		}
	}
}
