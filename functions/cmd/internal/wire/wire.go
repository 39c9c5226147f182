// Package wire builds each Parley function from a functions process's clients (boot.Deps): one
// builder per function, used both by the function's own image (functions/cmd/<name>) and by
// parley-functions, which runs them all in one process for the local platform. A builder reads its
// function's settings through d.Cfg's accessors; the defaults written here are the documented ones
// (README: configuration).
package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/annotate"
	"github.com/parley-im/parley/functions/cmd/internal/boot"
	"github.com/parley-im/parley/functions/contacts"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/fanout"
	"github.com/parley-im/parley/functions/files"
	"github.com/parley-im/parley/functions/identity"
	"github.com/parley-im/parley/functions/internal/bans"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/sealing"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/push"
	"github.com/parley-im/parley/functions/read"
	"github.com/parley-im/parley/functions/realtime"
	"github.com/parley-im/parley/functions/reports"
	"github.com/parley-im/parley/functions/revoke"
	"github.com/parley-im/parley/functions/search"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/functions/sweep"
	"github.com/parley-im/parley/functions/upload"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/s3"
)

// All is every function by name (the names of FUNCTIONS_LISTEN and of charts/parley/values.yaml).
func All() map[string]boot.Builder {
	return map[string]boot.Builder{
		"identity":      Identity,
		"contacts":      Contacts,
		"conversations": Conversations,
		"send":          Send,
		"read":          Read,
		"revoke":        Revoke,
		"fanout":        Fanout,
		"sweep":         Sweep,
		"files":         Files,
		"upload":        Upload,
		"realtime":      Realtime,
		"annotate":      Annotate,
		"search":        Search,
		"push":          Push,
		"reports":       Reports,
	}
}

// Identity is the identity function (accounts, tokens, OIDC issuer, admin routes). Settings:
// IDENTITY_KEY_ENCRYPTION_KEY (seals signing keys at rest), IDENTITY_KEY_PUBLISH_DELAY (10m),
// IDENTITY_ADMIN_USERNAMES (comma list: these users get the admin role when they register), and
// s3Client's (erasure deletes the user's files).
func Identity(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	f, err := identityFunction(ctx, d)
	if err != nil {
		return nil, err
	}
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	return serve.Mount(ctx, opts, f.Routes, nil)
}

// RotateKeys publishes identity's next signing key (the image's "identity rotate-keys"): it signs
// from the returned time on.
func RotateKeys(ctx context.Context, d *boot.Deps) (kid string, from time.Time, err error) {
	f, err := identityFunction(ctx, d)
	if err != nil {
		return "", time.Time{}, err
	}
	return f.RotateKeys(ctx)
}

func identityFunction(ctx context.Context, d *boot.Deps) (*identity.Function, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	delay, err := d.Cfg.Duration("IDENTITY_KEY_PUBLISH_DELAY", 10*time.Minute)
	if err != nil {
		return nil, err
	}
	objects, err := s3Client(d.Cfg) // erasure deletes the user's files (s3Client's settings)
	if err != nil {
		return nil, err
	}
	f, err := identity.New(ctx, identity.Config{
		Issuer:            d.Cfg.OIDCIssuer,
		Audience:          d.Cfg.Audience,
		KeyPublishDelay:   delay,
		KeyEncryptionKey:  []byte(d.Cfg.Value("IDENTITY_KEY_ENCRYPTION_KEY", "")),
		TrustForwardedFor: d.Cfg.TrustForwardedFor,
		AdminUsernames:    d.Cfg.List("IDENTITY_ADMIN_USERNAMES"),
	}, identity.Deps{
		Pool: d.Pool, Outbox: d.Outbox, Revocations: g.Revocations, Tickets: g.Tickets, Limiter: g.Limiter,
		Roles: d.Keto, Authorizer: g.Authorizer, Objects: objects, Log: d.Log,
	})
	if err != nil {
		return nil, err
	}
	d.Fallback(keto.NamespaceSystem, f.BanFallback())
	return f, nil
}

// Contacts is the contacts function (friend requests, contact list, blocks).
func Contacts(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	return contacts.New(contacts.Config{}, contacts.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, opts)
}

// Conversations is the conversations function (also the caller's settings and data export).
// Settings: MAX_GROUP_CREATE (1000), MAX_GROUP_MEMBERS (10000), EXPORT_MAX_JSON_MESSAGES (100000). Its management checks go through the access layer's Authorizer, whose Conversation
// fallback is messaging.Roles (boot.New).
func Conversations(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	cfg := conversations.Config{MaxCreateMembers: d.Cfg.Int("MAX_GROUP_CREATE", 0), MaxMembers: d.Cfg.Int("MAX_GROUP_MEMBERS", 0),
		MaxJSONExportMessages: d.Cfg.Int("EXPORT_MAX_JSON_MESSAGES", 0)}
	return conversations.New(cfg, conversations.Deps{Pool: d.Pool, Outbox: d.Outbox, Mirror: mirror(d),
		Authz: g.Authorizer, Log: d.Log}).Mount(ctx, opts)
}

// Send is the send function. Settings: MAX_TEXT_CHARS (4000), MAX_UNDELIVERED (50), DELIVERY_STALL
// (3s), HTTP_SEND_QUEUE_DEADLINE (1s), MAX_MENTIONS (100), FAULT_SEND_SKIP_PUBLISH ("true": the
// fault-test hook that stops between commit and publish; never in production).
func Send(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	stall, err := d.Cfg.Duration("DELIVERY_STALL", 0)
	if err != nil {
		return nil, err
	}
	queueDeadline, err := d.Cfg.Duration("HTTP_SEND_QUEUE_DEADLINE", 0)
	if err != nil {
		return nil, err
	}
	cfg := send.Config{MaxTextChars: d.Cfg.Int("MAX_TEXT_CHARS", 0), MaxUndelivered: d.Cfg.Int("MAX_UNDELIVERED", 0),
		MaxMentions:   d.Cfg.Int("MAX_MENTIONS", 0),
		DeliveryStall: stall, HTTPQueueDeadline: queueDeadline, FaultSkipPublish: d.Cfg.Value("FAULT_SEND_SKIP_PUBLISH", "") == "true"}
	relay := d.Outbox.NewRelay(0)
	go relay.Run(ctx) // until the process stops; what is left then is the sweep's
	return send.New(cfg, send.Deps{Pool: d.Pool, Relay: relay, Log: d.Log}).Mount(ctx, opts)
}

// Read is the read function.
func Read(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	return read.New(read.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, opts)
}

// Revoke is the revoke function. Settings: REVOKE_WINDOW (2m).
func Revoke(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	window, err := d.Cfg.Duration("REVOKE_WINDOW", 2*time.Minute)
	if err != nil {
		return nil, err
	}
	return revoke.New(revoke.Config{Window: window}, revoke.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, opts)
}

// Annotate is the annotate function (edits, reactions, pins). Settings: EDIT_WINDOW (10m),
// MAX_TEXT_CHARS (4000), MAX_REACTION_KEYS (20), MAX_PINS (50).
func Annotate(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	window, err := d.Cfg.Duration("EDIT_WINDOW", 10*time.Minute)
	if err != nil {
		return nil, err
	}
	cfg := annotate.Config{EditWindow: window, MaxTextChars: d.Cfg.Int("MAX_TEXT_CHARS", 0),
		MaxReactionKeys: d.Cfg.Int("MAX_REACTION_KEYS", 0), MaxPins: d.Cfg.Int("MAX_PINS", 0)}
	return annotate.New(cfg, annotate.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, opts)
}

// Search is the search function (GET /v1/search/messages). Settings: SEARCH_LIMIT (20),
// SEARCH_MAX_LIMIT (100).
func Search(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	cfg := search.Config{Limit: d.Cfg.Int("SEARCH_LIMIT", 0), MaxLimit: d.Cfg.Int("SEARCH_MAX_LIMIT", 0)}
	return search.New(cfg, search.Deps{Pool: d.Pool, Log: d.Log}).Mount(ctx, opts)
}

// Fanout is the fanout function (events only). Settings: DELIVERY_TOPIC (im.delivery),
// FANOUT_CURSOR_EVERY (10ms).
func Fanout(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	every, err := d.Cfg.Duration("FANOUT_CURSOR_EVERY", 0)
	if err != nil {
		return nil, err
	}
	cfg := fanout.Config{Topic: d.Cfg.Value("DELIVERY_TOPIC", ""), CursorEvery: every}
	return fanout.New(cfg, fanout.Deps{Pool: d.Pool, Publisher: d.Writer, Log: d.Log}).Mount(ctx, d.Unguarded())
}

// Sweep is the sweep function (events only). Settings: SWEEP_OLDER_THAN (5s), OUTBOX_RETENTION (1h).
func Sweep(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	older, err := d.Cfg.Duration("SWEEP_OLDER_THAN", 5*time.Second)
	if err != nil {
		return nil, err
	}
	retention, err := d.Cfg.Duration("OUTBOX_RETENTION", time.Hour)
	if err != nil {
		return nil, err
	}
	return sweep.New(sweep.Config{OlderThan: older, Retention: retention}, sweep.Deps{Pool: d.Pool, Outbox: d.Outbox, Mirror: mirror(d),
		Log: d.Log}).Mount(ctx, d.Unguarded())
}

// Files is the files function (presigned upload and download). Settings: s3Client's, MAX_FILE_SIZE
// (bytes, default 100 MiB).
func Files(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	cli, err := s3Client(d.Cfg)
	if err != nil {
		return nil, err
	}
	cfg := files.Config{MaxSize: int64(d.Cfg.Int("MAX_FILE_SIZE", 0))}
	return files.New(cfg, files.Deps{Pool: d.Pool, S3: cli, Log: d.Log}).Mount(ctx, opts)
}

// Upload is the upload function (events only: the sink of the s3.events KafkaSource). Settings:
// s3Client's, THUMB_MAX_PIXELS (50000000), THUMB_MAX_BYTES (32 MiB).
func Upload(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	cli, err := s3Client(d.Cfg)
	if err != nil {
		return nil, err
	}
	cfg := upload.Config{Bucket: cli.Bucket(), ThumbMaxPixels: d.Cfg.Int("THUMB_MAX_PIXELS", 0),
		ThumbMaxBytes: int64(d.Cfg.Int("THUMB_MAX_BYTES", 0))}
	return upload.New(cfg, upload.Deps{Pool: d.Pool, Objects: cli, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, d.Unguarded())
}

// Realtime is the realtime function: typing and call signaling commands, GET /v1/presence, GET
// /v1/calls/ice-servers, and the ring-timeout sweep (runs until ctx is done). Settings: see
// realtimeConfig.
func Realtime(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	cfg, err := realtimeConfig(d.Cfg)
	if err != nil {
		return nil, err
	}
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	h := realtime.New(cfg, realtime.Deps{Pool: d.Pool, Redis: d.Redis, Publisher: d.Writer, Log: d.Log})
	go h.Run(ctx)
	return h.Mount(ctx, opts)
}

// realtimeConfig reads realtime's settings: ICE_SERVERS (realtime.ParseICEServers; default
// realtime.DefaultICEServers), TURN_SECRET, TURN_TTL (12h), CALL_RING_TIMEOUT (30s),
// CALL_MAX_DURATION (6h), PRESENCE_MAX_IDS (200), TYPING_MAX_RECIPIENTS (1000), DELIVERY_TOPIC
// (im.delivery); unset ones are left zero for realtime's documented defaults, malformed ones are an
// error. The Redis prefix is the process's (REDIS_PREFIX).
func realtimeConfig(c boot.Config) (realtime.Config, error) {
	servers, err := realtime.ParseICEServers(c.Value("ICE_SERVERS", realtime.DefaultICEServers))
	if err != nil {
		return realtime.Config{}, err
	}
	cfg := realtime.Config{RedisPrefix: c.RedisPrefix, Topic: c.Value("DELIVERY_TOPIC", ""), ICEServers: servers,
		TURNSecret: []byte(c.Value("TURN_SECRET", ""))}
	for key, dst := range map[string]*time.Duration{"TURN_TTL": &cfg.TURNTTL, "CALL_RING_TIMEOUT": &cfg.RingTimeout,
		"CALL_MAX_DURATION": &cfg.MaxCallDuration} {
		if *dst, err = c.Duration(key, 0); err != nil {
			return realtime.Config{}, err
		}
	}
	for key, dst := range map[string]*int{"PRESENCE_MAX_IDS": &cfg.MaxPresenceIDs, "TYPING_MAX_RECIPIENTS": &cfg.MaxTypingRecipients} {
		if v := c.Value(key, ""); v != "" {
			if _, err := fmt.Sscan(v, dst); err != nil {
				return realtime.Config{}, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return cfg, nil
}

// Reports is the reports function: members report messages, admins resolve them from the queue
// with the admin revoke and ban paths. Settings: none of its own.
func Reports(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	b := &bans.Bans{Pool: d.Pool, Outbox: d.Outbox, Roles: d.Keto, Bumper: g.Revocations, Source: reports.Source, Log: d.Log}
	return reports.New(reports.Config{}, reports.Deps{Pool: d.Pool, Outbox: d.Outbox, Authz: g.Authorizer, Bans: b,
		Log: d.Log}).Mount(ctx, opts)
}

// mirror keeps Keto's copy of the conversation roles in step.
func mirror(d *boot.Deps) *messaging.Mirror {
	return messaging.NewMirror(keto.Conversations{Client: d.Keto}, d.Log)
}

// s3Client builds the S3 client; it does no I/O (the platform or the cluster creates the bucket).
// Settings: S3_ENDPOINT (servers' URL of S3), S3_PUBLIC_ENDPOINT (clients' URL, signed into presigned
// URLs; default S3_ENDPOINT), S3_BUCKET (parley-files), S3_REGION (us-east-1), S3_ACCESS_KEY,
// S3_SECRET_KEY, S3_PRESIGN_EXPIRY (15m).
func s3Client(c boot.Config) (*s3.Client, error) {
	expiry, err := c.Duration("S3_PRESIGN_EXPIRY", 15*time.Minute)
	if err != nil {
		return nil, err
	}
	return s3.New(s3.Config{Endpoint: c.Value("S3_ENDPOINT", ""), PublicEndpoint: c.Value("S3_PUBLIC_ENDPOINT", ""),
		Region: c.Value("S3_REGION", ""), AccessKey: c.Value("S3_ACCESS_KEY", ""), SecretKey: c.Value("S3_SECRET_KEY", ""),
		Bucket: c.Value("S3_BUCKET", "parley-files"), PresignExpiry: expiry})
}

// Push is the push function: the push device routes and the pushes of im.message.created to
// members without a live connection. Settings: PUSH_KEY_ENCRYPTION_KEY (seals the VAPID key at
// rest), PUSH_VAPID_SUBJECT (mailto:/https: contact sent to push services; default
// mailto:push@parley.invalid), PUSH_INCLUDE_CONTENT ("true": title and body in pushes; default
// off), PUSH_MAX_DEVICES (20), PUSH_TTL (24h), PUSH_USER_PARALLEL (16), PUSH_DEVICE_PARALLEL (4),
// PUSH_RETRY_ATTEMPTS (3), PUSH_RETRY_MAX_WAIT (10s), and the FCM and APNs credentials of
// pushProviders.
func Push(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	opts, err := d.Guarded(ctx)
	if err != nil {
		return nil, err
	}
	kek, err := sealing.New([]byte(d.Cfg.Value("PUSH_KEY_ENCRYPTION_KEY", "")))
	if err != nil {
		return nil, err
	}
	key, err := push.LoadVAPIDKey(ctx, d.Pool, kek)
	if err != nil {
		return nil, err
	}
	ttl, err := d.Cfg.Duration("PUSH_TTL", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	maxWait, err := d.Cfg.Duration("PUSH_RETRY_MAX_WAIT", 10*time.Second)
	if err != nil {
		return nil, err
	}
	providers, err := pushProviders(d.Cfg, key)
	if err != nil {
		return nil, err
	}
	cfg := push.Config{IncludeContent: d.Cfg.Value("PUSH_INCLUDE_CONTENT", "") == "true", MaxDevices: d.Cfg.Int("PUSH_MAX_DEVICES", 0),
		TTL: ttl, UserParallel: d.Cfg.Int("PUSH_USER_PARALLEL", 0), DeviceParallel: d.Cfg.Int("PUSH_DEVICE_PARALLEL", 0),
		Retry:       push.Retry{Attempts: d.Cfg.Int("PUSH_RETRY_ATTEMPTS", 0), MaxWait: maxWait},
		RedisPrefix: d.Cfg.RedisPrefix}
	fn, err := push.New(cfg, push.Deps{Pool: d.Pool, Redis: d.Redis, VAPID: key, Providers: providers, Log: d.Log})
	if err != nil {
		return nil, err
	}
	return fn.Mount(ctx, opts)
}

// pushProviders builds a Provider per configured platform: Web Push always (the VAPID key is the
// platform's own); FCM when FCM_SERVICE_ACCOUNT_JSON (the key file's JSON) or
// FCM_SERVICE_ACCOUNT_FILE (its path) is set, FCM_ENDPOINT overriding the API's URL; APNs when
// APNS_KEY (the .p8 PEM) or APNS_KEY_FILE is set, with APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC (the
// bundle id) and APNS_ENDPOINT (default https://api.push.apple.com). A platform left out is
// skipped: its devices register but get no push (parley_push_sent_total{outcome="unconfigured"}).
func pushProviders(c boot.Config, key push.VAPIDKey) (map[string]push.Provider, error) {
	roots, err := pushRoots(c)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr}
	wp, err := push.NewWebPush(key, c.Value("PUSH_VAPID_SUBJECT", "mailto:push@parley.invalid"), client)
	if err != nil {
		return nil, err
	}
	out := map[string]push.Provider{events.PlatformWebPush: wp}
	sa, err := secretValue(c, "FCM_SERVICE_ACCOUNT_JSON", "FCM_SERVICE_ACCOUNT_FILE")
	if err != nil {
		return nil, err
	}
	if len(sa) > 0 {
		fcm, err := push.NewFCM(sa, c.Value("FCM_ENDPOINT", ""), client)
		if err != nil {
			return nil, err
		}
		out[events.PlatformFCM] = fcm
	}
	p8, err := secretValue(c, "APNS_KEY", "APNS_KEY_FILE")
	if err != nil {
		return nil, err
	}
	if len(p8) > 0 {
		apns, err := push.NewAPNs(push.APNsConfig{KeyP8: p8, KeyID: c.Value("APNS_KEY_ID", ""), TeamID: c.Value("APNS_TEAM_ID", ""),
			Topic: c.Value("APNS_TOPIC", ""), Endpoint: c.Value("APNS_ENDPOINT", ""), RootCAs: roots})
		if err != nil {
			return nil, err
		}
		out[events.PlatformAPNs] = apns
	}
	return out, nil
}

// pushRoots are the CAs push services are verified with: the system's, plus PUSH_TLS_CA_FILE (PEM)
// when set, for a push gateway behind a private CA (and the e2e suite's push-service stand-in).
func pushRoots(c boot.Config) (*x509.CertPool, error) {
	path := c.Value("PUSH_TLS_CA_FILE", "")
	if path == "" {
		return nil, nil // nil RootCAs: the system's
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("PUSH_TLS_CA_FILE: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("PUSH_TLS_CA_FILE: %s holds no PEM certificate", path)
	}
	return roots, nil
}

// secretValue reads a credential given inline (valueKey) or as a mounted file (fileKey).
func secretValue(c boot.Config, valueKey, fileKey string) ([]byte, error) {
	if v := c.Value(valueKey, ""); v != "" {
		return []byte(v), nil
	}
	path := c.Value(fileKey, "")
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileKey, err)
	}
	return b, nil
}
