package boot

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/functions/realtime"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/redis"
)

func envOf(m map[string]string) Config { return Env(func(k string) string { return m[k] }) }

func TestEnvDefaults(t *testing.T) {
	got := envOf(nil)
	if got.Err() != nil || got.guardErr != nil || len(got.fnErr) != 0 {
		t.Fatalf("errors on an empty environment: %v %v %v", got.Err(), got.guardErr, got.fnErr)
	}
	ice, _ := realtime.ParseICEServers(realtime.DefaultICEServers)
	shared := Config{
		Listen:            ":8080",
		DatabaseURL:       "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable",
		Redis:             redis.Config{Addr: "127.0.0.1:6379", Prefix: "parley:"},
		Kafka:             kafka.Settings{Brokers: []string{"127.0.0.1:9092"}},
		BrokerTopic:       "knative-broker-parley-default",
		BrokerURL:         "http://127.0.0.1:8081",
		OIDC:              auth.OIDC{Issuer: "http://127.0.0.1:8080", Audience: "parley"},
		Keto:              keto.Config{ReadURL: "http://127.0.0.1:4466", WriteURL: "http://127.0.0.1:4467"},
		TrustForwardedFor: true,
		UserLimit:         ratelimit.PerSecond(100, 200),
		IPLimit:           ratelimit.PerSecond(2000, 4000),
		MaxConcurrent:     256,
	}
	// The shared fields first, then the defaults this deployment documents beside the packages' own.
	cmp := got
	cmp.Identity, cmp.Conversations, cmp.Send, cmp.Revoke, cmp.Annotate = shared.Identity, shared.Conversations, shared.Send, shared.Revoke, shared.Annotate
	cmp.Search, cmp.Fanout, cmp.Sweep, cmp.Files, cmp.Upload = shared.Search, shared.Fanout, shared.Sweep, shared.Files, shared.Upload
	cmp.Realtime, cmp.Push, cmp.PushServices, cmp.S3, cmp.fnErr = shared.Realtime, shared.Push, shared.PushServices, shared.S3, nil
	if !reflect.DeepEqual(cmp, shared) {
		t.Fatalf("shared defaults:\n got %+v\nwant %+v", cmp, shared)
	}
	for name, ok := range map[string]bool{
		"identity":      got.Identity.Issuer == "http://127.0.0.1:8080" && got.Identity.Audience == "parley" && got.Identity.KeyPublishDelay == 10*time.Minute && got.Identity.TrustForwardedFor,
		"revoke":        got.Revoke.Window == 2*time.Minute,
		"annotate":      got.Annotate.EditWindow == 10*time.Minute,
		"sweep":         got.Sweep.OlderThan == 5*time.Second && got.Sweep.Retention == time.Hour,
		"s3":            got.S3.Bucket == "parley-files" && got.S3.PresignExpiry == 15*time.Minute && got.Upload.Bucket == "parley-files",
		"push":          got.Push.TTL == 24*time.Hour && got.Push.Retry.MaxWait == 10*time.Second && got.Push.RedisPrefix == "parley:" && !got.Push.IncludeContent,
		"push services": got.PushServices.VAPIDSubject == "mailto:push@parley.invalid",
		"realtime":      got.Realtime.RedisPrefix == "parley:" && reflect.DeepEqual(got.Realtime.ICEServers, ice) && got.Realtime.TURNTTL == 0,
		"send":          got.Send == (Config{}).Send, // zero: send's own defaults
	} {
		if !ok {
			t.Errorf("%s defaults: %+v", name, got)
		}
	}
}

func TestEnvSet(t *testing.T) {
	env := map[string]string{
		"PORT": "9000", "MIGRATE": "true", "KAFKA_BROKERS": " a:1, ,b:2 ", "OIDC_ALGORITHMS": "ES256",
		"TRUST_FORWARDED_FOR": "false", "LOG_LEVEL": "debug",
	}
	c := envOf(env)
	if c.Listen != ":9000" || !c.Migrate || !reflect.DeepEqual(c.Kafka.Brokers, []string{"a:1", "b:2"}) ||
		!reflect.DeepEqual(c.OIDC.Algorithms, []string{"ES256"}) || c.TrustForwardedFor || c.Identity.TrustForwardedFor || c.LogLevel != "debug" {
		t.Fatalf("Env: %+v", c)
	}
	if c.Err() != nil || c.Kafka.Security.TLS || c.Redis.TLS {
		t.Fatalf("plaintext by default: err %v, kafka %+v, redis %+v", c.Err(), c.Kafka.Security, c.Redis)
	}
	env["LISTEN_ADDRESS"] = "127.0.0.1:1"
	if c := envOf(env); c.Listen != "127.0.0.1:1" {
		t.Fatalf("LISTEN_ADDRESS wins over PORT: %q", c.Listen)
	}
}

// Every function's own keys land in its typed config.
func TestEnvFunctionSettings(t *testing.T) {
	c := envOf(map[string]string{
		"IDENTITY_KEY_PUBLISH_DELAY": "1m", "IDENTITY_KEY_ENCRYPTION_KEY": "kek", "IDENTITY_ADMIN_USERNAMES": "root, ops",
		"MAX_GROUP_CREATE": "10", "MAX_GROUP_MEMBERS": "20", "EXPORT_MAX_JSON_MESSAGES": "30",
		"MAX_TEXT_CHARS": "40", "MAX_UNDELIVERED": "50", "MAX_MENTIONS": "60", "DELIVERY_STALL": "7s",
		"HTTP_SEND_QUEUE_DEADLINE": "8s", "FAULT_SEND_SKIP_PUBLISH": "true",
		"REVOKE_WINDOW": "9m", "EDIT_WINDOW": "11m", "MAX_REACTION_KEYS": "12", "MAX_PINS": "13",
		"SEARCH_LIMIT": "14", "SEARCH_MAX_LIMIT": "15", "DELIVERY_TOPIC": "d", "FANOUT_CURSOR_EVERY": "16ms",
		"SWEEP_OLDER_THAN": "17s", "OUTBOX_RETENTION": "18h", "MAX_FILE_SIZE": "19", "THUMB_MAX_PIXELS": "20",
		"THUMB_MAX_BYTES": "21", "S3_ENDPOINT": "http://s3", "S3_PUBLIC_ENDPOINT": "https://files", "S3_BUCKET": "b",
		"S3_REGION": "r", "S3_ACCESS_KEY": "ak", "S3_SECRET_KEY": "sk", "S3_PRESIGN_EXPIRY": "22m",
		"REDIS_PREFIX": "t:", "TURN_SECRET": "s", "TURN_TTL": "1h", "CALL_RING_TIMEOUT": "5s", "CALL_MAX_DURATION": "2h",
		"PRESENCE_MAX_IDS": "7", "TYPING_MAX_RECIPIENTS": "9", "ICE_SERVERS": "stun:a.example:3478",
		"PUSH_INCLUDE_CONTENT": "true", "PUSH_MAX_DEVICES": "23", "PUSH_TTL": "24m", "PUSH_USER_PARALLEL": "25",
		"PUSH_DEVICE_PARALLEL": "26", "PUSH_RETRY_ATTEMPTS": "27", "PUSH_RETRY_MAX_WAIT": "28s",
		"PUSH_KEY_ENCRYPTION_KEY": "pk", "PUSH_VAPID_SUBJECT": "mailto:a@b", "PUSH_TLS_CA_FILE": "/ca.pem",
		"FCM_SERVICE_ACCOUNT_FILE": "/sa.json", "FCM_ENDPOINT": "https://fcm", "APNS_KEY_FILE": "/k.p8",
		"APNS_KEY_ID": "kid", "APNS_TEAM_ID": "team", "APNS_TOPIC": "app", "APNS_ENDPOINT": "https://apns",
	})
	if len(c.fnErr) != 0 {
		t.Fatal(c.fnErr)
	}
	id := c.Identity
	if id.KeyPublishDelay != time.Minute || string(id.KeyEncryptionKey) != "kek" || !reflect.DeepEqual(id.AdminUsernames, []string{"root", "ops"}) {
		t.Errorf("identity: %+v", id)
	}
	if cv := c.Conversations; cv.MaxCreateMembers != 10 || cv.MaxMembers != 20 || cv.MaxJSONExportMessages != 30 {
		t.Errorf("conversations: %+v", cv)
	}
	if s := c.Send; s.MaxTextChars != 40 || s.MaxUndelivered != 50 || s.MaxMentions != 60 || s.DeliveryStall != 7*time.Second ||
		s.HTTPQueueDeadline != 8*time.Second || !s.FaultSkipPublish {
		t.Errorf("send: %+v", s)
	}
	if a := c.Annotate; c.Revoke.Window != 9*time.Minute || a.EditWindow != 11*time.Minute || a.MaxTextChars != 40 ||
		a.MaxReactionKeys != 12 || a.MaxPins != 13 {
		t.Errorf("revoke %+v, annotate %+v", c.Revoke, a)
	}
	if c.Search.Limit != 14 || c.Search.MaxLimit != 15 || c.Fanout.Topic != "d" || c.Fanout.CursorEvery != 16*time.Millisecond ||
		c.Sweep.OlderThan != 17*time.Second || c.Sweep.Retention != 18*time.Hour || c.Files.MaxSize != 19 ||
		c.Upload.ThumbMaxPixels != 20 || c.Upload.ThumbMaxBytes != 21 || c.Upload.Bucket != "b" {
		t.Errorf("search %+v fanout %+v sweep %+v files %+v upload %+v", c.Search, c.Fanout, c.Sweep, c.Files, c.Upload)
	}
	if s := c.S3; s.Endpoint != "http://s3" || s.PublicEndpoint != "https://files" || s.Bucket != "b" || s.Region != "r" ||
		s.AccessKey != "ak" || s.SecretKey != "sk" || s.PresignExpiry != 22*time.Minute {
		t.Errorf("s3: %+v", s)
	}
	if r := c.Realtime; r.RedisPrefix != "t:" || r.Topic != "d" || string(r.TURNSecret) != "s" || r.TURNTTL != time.Hour ||
		r.RingTimeout != 5*time.Second || r.MaxCallDuration != 2*time.Hour || r.MaxPresenceIDs != 7 ||
		r.MaxTypingRecipients != 9 || len(r.ICEServers) != 1 {
		t.Errorf("realtime: %+v", r)
	}
	if p := c.Push; !p.IncludeContent || p.MaxDevices != 23 || p.TTL != 24*time.Minute || p.UserParallel != 25 ||
		p.DeviceParallel != 26 || p.Retry.Attempts != 27 || p.Retry.MaxWait != 28*time.Second || p.RedisPrefix != "t:" {
		t.Errorf("push: %+v", p)
	}
	want := PushServices{KeyEncryptionKey: []byte("pk"), VAPIDSubject: "mailto:a@b", TLSCAFile: "/ca.pem",
		FCMServiceAccountFile: "/sa.json", FCMEndpoint: "https://fcm", APNsKeyFile: "/k.p8", APNsKeyID: "kid",
		APNsTeamID: "team", APNsTopic: "app", APNsEndpoint: "https://apns"}
	if !reflect.DeepEqual(c.PushServices, want) {
		t.Errorf("push services:\n got %+v\nwant %+v", c.PushServices, want)
	}
}

// A malformed setting of one function fails that function alone (and every function that shares
// the setting), never the process: the rest start.
func TestMalformedFunctionSettingFailsOnlyItsFunctions(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		failing    []string
	}{
		{"PUSH_TTL", "a day", []string{"push"}},
		{"MAX_TEXT_CHARS", "4k", []string{"send", "annotate"}},
		{"S3_PRESIGN_EXPIRY", "soon", []string{"identity", "files", "upload"}},
		{"ICE_SERVERS", "[{", []string{"realtime"}},
		{"PRESENCE_MAX_IDS", "many", []string{"realtime"}},
		{"FAULT_SEND_SKIP_PUBLISH", "maybe", []string{"send"}},
	} {
		c := envOf(map[string]string{tc.key: tc.value})
		if c.Err() != nil || c.guardErr != nil {
			t.Errorf("%s: the process or the guard fails: %v %v", tc.key, c.Err(), c.guardErr)
		}
		for _, name := range []string{"identity", "contacts", "conversations", "send", "read", "revoke", "fanout", "sweep",
			"files", "upload", "realtime", "annotate", "search", "push", "reports"} {
			err := c.FunctionErr(name)
			if fails := contains(tc.failing, name); fails != (err != nil) {
				t.Errorf("%s=%q: %s error %v, want failing %v", tc.key, tc.value, name, err, fails)
			} else if fails && !strings.Contains(err.Error(), tc.key) {
				t.Errorf("%s: the error does not name the key: %v", tc.key, err)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Run refuses a function whose settings are malformed before it opens anything.
func TestRunRefusesAFunctionWithMalformedSettings(t *testing.T) {
	c := envOf(map[string]string{"PUSH_TTL": "a day", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"})
	build := func(context.Context, *Deps) (http.Handler, error) {
		t.Fatal("built despite a malformed setting")
		return nil, nil
	}
	err := Run(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), []Function{{Name: "push", Addr: "127.0.0.1:0", Build: build}})
	if err == nil || !strings.Contains(err.Error(), "push: PUSH_TTL") {
		t.Fatalf("Run: %v", err)
	}
}

func TestEnvManagedServices(t *testing.T) {
	env := map[string]string{
		"KAFKA_BROKERS": "b-1.msk:9096", "KAFKA_TLS": "true", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
		"KAFKA_SASL_USERNAME": "parley", "KAFKA_SASL_PASSWORD": "kpw",
		"REDIS_ADDR": "master.cache:6379", "REDIS_TLS": "true", "REDIS_USERNAME": "parley", "REDIS_PASSWORD": "rpw",
		"REDIS_PREFIX": "p:",
	}
	c := envOf(env)
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	if want := (kafka.SecurityConfig{TLS: true, SASLMechanism: "SCRAM-SHA-512", Username: "parley", Password: "kpw"}); c.Kafka.Security != want {
		t.Errorf("Kafka.Security = %+v, want %+v", c.Kafka.Security, want)
	}
	if want := (redis.Config{Addr: "master.cache:6379", Prefix: "p:", TLS: true, Username: "parley", Password: "rpw"}); c.Redis != want {
		t.Errorf("Redis = %+v, want %+v", c.Redis, want)
	}
	// A malformed switch stops the process at New instead of silently meaning plaintext.
	env["KAFKA_TLS"], env["REDIS_TLS"] = "yes", "yes"
	c = envOf(env)
	if c.Err() == nil {
		t.Fatal("KAFKA_TLS=yes / REDIS_TLS=yes accepted")
	}
	if _, err := New(context.Background(), c, nil); err == nil {
		t.Fatal("New started with a malformed setting")
	}
}

// The access layer's limits are read with the rest, but a malformed one only stops Guard: a
// function without public routes starts regardless.
func TestEnvGuardLimits(t *testing.T) {
	c := envOf(map[string]string{"RATE_LIMIT_USER": "off", "RATE_LIMIT_IP": "5/10", "MAX_CONCURRENT": "8"})
	if c.UserLimit != (ratelimit.Limit{}) || c.IPLimit != ratelimit.PerSecond(5, 10) || c.MaxConcurrent != 8 || c.guardErr != nil {
		t.Fatalf("limits: %+v %+v %d %v", c.UserLimit, c.IPLimit, c.MaxConcurrent, c.guardErr)
	}
	for _, bad := range []map[string]string{{"RATE_LIMIT_USER": "fast"}, {"RATE_LIMIT_IP": "1/"}, {"MAX_CONCURRENT": "-1"}} {
		c := envOf(bad)
		if c.guardErr == nil || c.Err() != nil || len(c.fnErr) != 0 {
			t.Errorf("%v: guard error %v, config error %v, function errors %v", bad, c.guardErr, c.Err(), c.fnErr)
		}
	}
}
