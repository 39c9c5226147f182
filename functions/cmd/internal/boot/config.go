package boot

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/annotate"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/fanout"
	"github.com/parley-im/parley/functions/files"
	"github.com/parley-im/parley/functions/identity"
	"github.com/parley-im/parley/functions/push"
	"github.com/parley-im/parley/functions/realtime"
	"github.com/parley-im/parley/functions/revoke"
	"github.com/parley-im/parley/functions/search"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/functions/sweep"
	"github.com/parley-im/parley/functions/upload"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/envconf"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/otel"
	"github.com/parley-im/parley/infra/ratelimit"
	"github.com/parley-im/parley/infra/redis"
	"github.com/parley-im/parley/infra/s3"
)

// Config is everything a functions process reads from its environment, in typed fields: the
// settings every function shares, and each function's own settings as its package's Config (keys
// and defaults: README, configuration). Env is the one place that reads them; a main calls it.
//
// A malformed shared setting stops the process (New refuses it); a malformed setting of one
// function stops only that function (Run refuses to build it, FunctionErr), so a bad PUSH_TTL never
// takes send down with it; a malformed access-layer limit stops only the functions with public
// routes (Guard).
type Config struct {
	Listen      string // LISTEN_ADDRESS, default ":" + PORT (Knative sets PORT; default 8080)
	DatabaseURL string // DATABASE_URL
	Migrate     bool   // MIGRATE=true applies migrations at start (parley-functions always does)
	// Redis: REDIS_ADDR, REDIS_PREFIX, REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS, REDIS_TLS_CA_FILE,
	// REDIS_TLS_SERVER_NAME (redis.FromEnv).
	Redis redis.Config
	// Kafka: KAFKA_BROKERS, KAFKA_BATCH_TIMEOUT, KAFKA_TLS*, KAFKA_SASL_*, KAFKA_AWS_REGION (kafka.FromEnv).
	Kafka       kafka.Settings
	BrokerTopic string    // BROKER_TOPIC, default events.TopicBroker
	BrokerURL   string    // BROKER_URL, the broker ingress (default http://127.0.0.1:8081)
	OIDC        auth.OIDC // OIDC_ISSUER, OIDC_DISCOVERY_URL, OIDC_AUDIENCE, OIDC_ALGORITHMS (auth.OIDCFromEnv)
	Keto        keto.Config
	RulesFile   string // RULES_FILE (empty: built-in rules)
	// TrustForwardedFor: TRUST_FORWARDED_FOR, default true.
	TrustForwardedFor bool
	// The access layer's limits (Guard): RATE_LIMIT_USER and RATE_LIMIT_IP ("rate/burst" per
	// second, "off" disables; defaults 100/200 and 2000/4000), MAX_CONCURRENT (requests in flight
	// per function, default 256).
	UserLimit     ratelimit.Limit
	IPLimit       ratelimit.Limit
	MaxConcurrent uint
	LogLevel      string // LOG_LEVEL, default info
	OTLPEndpoint  string // OTEL_EXPORTER_OTLP_ENDPOINT (host:port): export traces over OTLP/HTTP when set
	ProfileAddr   string // PPROF_ADDR (loopback host:port): serve Go profiles there when set

	// Each function's own settings. Unset keys leave a field zero for the package's documented
	// default, except where the README documents a different default for the deployment.
	Identity      identity.Config
	Conversations conversations.Config
	Send          send.Config
	Revoke        revoke.Config
	Annotate      annotate.Config
	Search        search.Config
	Fanout        fanout.Config
	Sweep         sweep.Config
	Files         files.Config
	Upload        upload.Config
	Realtime      realtime.Config
	Push          push.Config
	PushServices  PushServices
	// S3 is the files bucket of identity (erasure), files and upload.
	S3 s3.Config

	err      error            // a malformed shared setting
	guardErr error            // a malformed access-layer limit
	fnErr    map[string]error // a malformed setting of one function, by function name
}

// PushServices are push's credentials for the push services; the files they name are read when push
// is built.
type PushServices struct {
	KeyEncryptionKey []byte // PUSH_KEY_ENCRYPTION_KEY: seals the VAPID key at rest
	VAPIDSubject     string // PUSH_VAPID_SUBJECT (mailto:/https: contact); default mailto:push@parley.invalid
	TLSCAFile        string // PUSH_TLS_CA_FILE: a PEM bundle trusted besides the system's CAs
	// FCM: FCM_SERVICE_ACCOUNT_JSON (the key file's JSON) or FCM_SERVICE_ACCOUNT_FILE (its path);
	// FCM_ENDPOINT overrides the API's URL.
	FCMServiceAccountJSON, FCMServiceAccountFile, FCMEndpoint string
	// APNs: APNS_KEY (the .p8 PEM) or APNS_KEY_FILE, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC (the
	// bundle id), APNS_ENDPOINT (default https://api.push.apple.com).
	APNsKey, APNsKeyFile, APNsKeyID, APNsTeamID, APNsTopic, APNsEndpoint string
}

// Err is the first malformed shared setting Env met (nil when all parsed).
func (c Config) Err() error { return c.err }

// FunctionErr is what is malformed among the settings of the function name (nil when all parsed).
func (c Config) FunctionErr(name string) error { return c.fnErr[name] }

// FailingFunctions names the functions FunctionErr refuses, sorted.
func (c Config) FailingFunctions() []string {
	return slices.Sorted(maps.Keys(c.fnErr))
}

// Env reads Config through getenv (os.Getenv in a main).
func Env(getenv func(string) string) Config {
	env := envconf.New(getenv)
	c := Config{fnErr: map[string]error{}}
	c.Listen = env.String("LISTEN_ADDRESS", ":"+env.String("PORT", "8080"))
	c.DatabaseURL = env.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parley?sslmode=disable")
	c.Migrate = env.Bool("MIGRATE", false)
	c.Redis = redis.FromEnv(env)
	c.Kafka = kafka.FromEnv(env)
	c.BrokerTopic = env.String("BROKER_TOPIC", events.TopicBroker)
	c.BrokerURL = env.String("BROKER_URL", "http://127.0.0.1:8081")
	c.OIDC = auth.OIDCFromEnv(env)
	c.Keto = keto.FromEnv(env)
	c.RulesFile = env.String("RULES_FILE", "")
	c.TrustForwardedFor = env.Bool("TRUST_FORWARDED_FOR", true)
	c.LogLevel = env.String("LOG_LEVEL", "")
	c.OTLPEndpoint = env.String("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	c.ProfileAddr = env.String("PPROF_ADDR", "")
	c.err = env.Err()

	guard := env.Sub()
	c.UserLimit = limit(guard, "RATE_LIMIT_USER", ratelimit.PerSecond(100, 200))
	c.IPLimit = limit(guard, "RATE_LIMIT_IP", ratelimit.PerSecond(2000, 4000))
	c.MaxConcurrent = 256
	guard.Func("MAX_CONCURRENT", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err == nil {
			c.MaxConcurrent = uint(n)
		}
		return err
	})
	c.guardErr = guard.Err()

	s3env := env.Sub()
	c.S3 = s3.Config{Endpoint: s3env.String("S3_ENDPOINT", ""), PublicEndpoint: s3env.String("S3_PUBLIC_ENDPOINT", ""),
		Region: s3env.String("S3_REGION", ""), AccessKey: s3env.String("S3_ACCESS_KEY", ""),
		SecretKey: s3env.String("S3_SECRET_KEY", ""), Bucket: s3env.String("S3_BUCKET", "parley-files"),
		PresignExpiry: s3env.Duration("S3_PRESIGN_EXPIRY", 15*time.Minute)}
	c.failed(s3env, "identity", "files", "upload")

	fn := env.Sub()
	c.Identity = identity.Config{Issuer: c.OIDC.Issuer, Audience: c.OIDC.Audience,
		KeyPublishDelay:   fn.Duration("IDENTITY_KEY_PUBLISH_DELAY", 10*time.Minute),
		KeyEncryptionKey:  []byte(fn.String("IDENTITY_KEY_ENCRYPTION_KEY", "")),
		TrustForwardedFor: c.TrustForwardedFor, AdminUsernames: fn.List("IDENTITY_ADMIN_USERNAMES")}
	c.failed(fn, "identity")

	fn = env.Sub()
	c.Conversations = conversations.Config{MaxCreateMembers: fn.Int("MAX_GROUP_CREATE", 0),
		MaxMembers: fn.Int("MAX_GROUP_MEMBERS", 0), MaxJSONExportMessages: fn.Int("EXPORT_MAX_JSON_MESSAGES", 0)}
	c.failed(fn, "conversations")

	fn = env.Sub()
	c.Send = send.Config{MaxTextChars: fn.Int("MAX_TEXT_CHARS", 0), MaxUndelivered: fn.Int("MAX_UNDELIVERED", 0),
		MaxMentions: fn.Int("MAX_MENTIONS", 0), DeliveryStall: fn.Duration("DELIVERY_STALL", 0),
		HTTPQueueDeadline: fn.Duration("HTTP_SEND_QUEUE_DEADLINE", 0),
		FaultSkipPublish:  fn.Bool("FAULT_SEND_SKIP_PUBLISH", false)}
	c.failed(fn, "send")

	fn = env.Sub()
	c.Revoke = revoke.Config{Window: fn.Duration("REVOKE_WINDOW", 2*time.Minute)}
	c.failed(fn, "revoke")

	fn = env.Sub()
	c.Annotate = annotate.Config{EditWindow: fn.Duration("EDIT_WINDOW", 10*time.Minute),
		MaxTextChars: fn.Int("MAX_TEXT_CHARS", 0), MaxReactionKeys: fn.Int("MAX_REACTION_KEYS", 0),
		MaxPins: fn.Int("MAX_PINS", 0)}
	c.failed(fn, "annotate")

	fn = env.Sub()
	c.Search = search.Config{Limit: fn.Int("SEARCH_LIMIT", 0), MaxLimit: fn.Int("SEARCH_MAX_LIMIT", 0)}
	c.failed(fn, "search")

	fn = env.Sub()
	c.Fanout = fanout.Config{Topic: fn.String("DELIVERY_TOPIC", ""), CursorEvery: fn.Duration("FANOUT_CURSOR_EVERY", 0)}
	c.failed(fn, "fanout")

	fn = env.Sub()
	c.Sweep = sweep.Config{OlderThan: fn.Duration("SWEEP_OLDER_THAN", 5*time.Second),
		Retention: fn.Duration("OUTBOX_RETENTION", time.Hour)}
	c.failed(fn, "sweep")

	fn = env.Sub()
	c.Files = files.Config{MaxSize: int64(fn.Int("MAX_FILE_SIZE", 0))}
	c.failed(fn, "files")

	fn = env.Sub()
	c.Upload = upload.Config{Bucket: c.S3.Bucket, ThumbMaxPixels: fn.Int("THUMB_MAX_PIXELS", 0),
		ThumbMaxBytes: int64(fn.Int("THUMB_MAX_BYTES", 0))}
	c.failed(fn, "upload")

	fn = env.Sub()
	c.Realtime = realtimeConfig(fn, c.Redis.Prefix)
	c.failed(fn, "realtime")

	fn = env.Sub()
	c.Push = push.Config{IncludeContent: fn.Bool("PUSH_INCLUDE_CONTENT", false), MaxDevices: fn.Int("PUSH_MAX_DEVICES", 0),
		TTL: fn.Duration("PUSH_TTL", 24*time.Hour), UserParallel: fn.Int("PUSH_USER_PARALLEL", 0),
		DeviceParallel: fn.Int("PUSH_DEVICE_PARALLEL", 0),
		Retry:          push.Retry{Attempts: fn.Int("PUSH_RETRY_ATTEMPTS", 0), MaxWait: fn.Duration("PUSH_RETRY_MAX_WAIT", 10*time.Second)},
		RedisPrefix:    c.Redis.Prefix}
	c.PushServices = PushServices{KeyEncryptionKey: []byte(fn.String("PUSH_KEY_ENCRYPTION_KEY", "")),
		VAPIDSubject: fn.String("PUSH_VAPID_SUBJECT", "mailto:push@parley.invalid"), TLSCAFile: fn.String("PUSH_TLS_CA_FILE", ""),
		FCMServiceAccountJSON: fn.String("FCM_SERVICE_ACCOUNT_JSON", ""), FCMServiceAccountFile: fn.String("FCM_SERVICE_ACCOUNT_FILE", ""),
		FCMEndpoint: fn.String("FCM_ENDPOINT", ""), APNsKey: fn.String("APNS_KEY", ""), APNsKeyFile: fn.String("APNS_KEY_FILE", ""),
		APNsKeyID: fn.String("APNS_KEY_ID", ""), APNsTeamID: fn.String("APNS_TEAM_ID", ""), APNsTopic: fn.String("APNS_TOPIC", ""),
		APNsEndpoint: fn.String("APNS_ENDPOINT", "")}
	c.failed(fn, "push")
	return c
}

// failed records what r found malformed against each of the functions names.
func (c *Config) failed(r *envconf.Reader, names ...string) {
	if err := r.Err(); err != nil {
		for _, n := range names {
			c.fnErr[n] = errors.Join(c.fnErr[n], err)
		}
	}
}

// realtimeConfig reads realtime's settings: ICE_SERVERS (realtime.ParseICEServers; default
// realtime.DefaultICEServers), TURN_SECRET, TURN_TTL (12h), CALL_RING_TIMEOUT (30s),
// CALL_MAX_DURATION (6h), PRESENCE_MAX_IDS (200), TYPING_MAX_RECIPIENTS (1000), DELIVERY_TOPIC
// (im.delivery); unset ones are left zero for realtime's documented defaults.
func realtimeConfig(r *envconf.Reader, redisPrefix string) realtime.Config {
	cfg := realtime.Config{RedisPrefix: redisPrefix, Topic: r.String("DELIVERY_TOPIC", ""),
		TURNSecret: []byte(r.String("TURN_SECRET", "")), TURNTTL: r.Duration("TURN_TTL", 0),
		RingTimeout: r.Duration("CALL_RING_TIMEOUT", 0), MaxCallDuration: r.Duration("CALL_MAX_DURATION", 0),
		MaxPresenceIDs: r.Int("PRESENCE_MAX_IDS", 0), MaxTypingRecipients: r.Int("TYPING_MAX_RECIPIENTS", 0)}
	cfg.ICEServers, _ = realtime.ParseICEServers(realtime.DefaultICEServers) // a constant that parses (tested)
	r.Func("ICE_SERVERS", func(v string) (err error) {
		cfg.ICEServers, err = realtime.ParseICEServers(v)
		return err
	})
	return cfg
}

// limit reads a rate-limit setting, "rate/burst" per second, or "off" (the zero Limit: unlimited);
// def when unset.
func limit(r *envconf.Reader, key string, def ratelimit.Limit) ratelimit.Limit {
	if r.Off(key) {
		return ratelimit.Limit{}
	}
	out := def
	r.Func(key, func(v string) error {
		rs, bs, ok := strings.Cut(v, "/")
		rate, err1 := strconv.Atoi(rs)
		burst, err2 := strconv.Atoi(bs)
		if !ok || err1 != nil || err2 != nil || rate <= 0 || burst <= 0 {
			return fmt.Errorf("%q is not rate/burst", v)
		}
		out = ratelimit.PerSecond(rate, burst)
		return nil
	})
	return out
}

// Logger is the process's JSON logger on stderr, at LogLevel (info when unset or unknown).
func (c Config) Logger() *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		l = slog.LevelInfo
	}
	// Lines logged with a request's or a record's context carry its trace id.
	return slog.New(otel.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
}
