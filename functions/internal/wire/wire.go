// Package wire builds each Parley function from a functions process's clients (boot.Deps): one
// builder per function, used both by the function's own image (functions/cmd/<name>) and by
// parley-functions, which runs them all in one process for the local platform. A builder reads its
// function's settings through d.Cfg's accessors; the defaults written here are the documented ones
// (README: configuration).
package wire

import (
	"context"
	"net/http"
	"time"

	"github.com/parley-im/parley/functions/annotate"
	"github.com/parley-im/parley/functions/contacts"
	"github.com/parley-im/parley/functions/conversations"
	"github.com/parley-im/parley/functions/fanout"
	"github.com/parley-im/parley/functions/files"
	"github.com/parley-im/parley/functions/identity"
	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/read"
	"github.com/parley-im/parley/functions/realtime"
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
	}
}

// Identity is the identity function (accounts, tokens, OIDC issuer, admin routes). Settings:
// IDENTITY_KEY_ENCRYPTION_KEY (seals signing keys at rest), IDENTITY_KEY_PUBLISH_DELAY (10m),
// IDENTITY_ADMIN_USERNAMES (comma list: these users get the admin role when they register).
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
	f, err := identity.New(ctx, identity.Config{
		Issuer:            d.Cfg.OIDCIssuer,
		Audience:          d.Cfg.Audience,
		KeyPublishDelay:   delay,
		KeyEncryptionKey:  []byte(d.Cfg.Value("IDENTITY_KEY_ENCRYPTION_KEY", "")),
		TrustForwardedFor: d.Cfg.TrustForwardedFor,
		AdminUsernames:    d.Cfg.List("IDENTITY_ADMIN_USERNAMES"),
	}, identity.Deps{
		Pool: d.Pool, Outbox: d.Outbox, Revocations: g.Revocations, Tickets: g.Tickets, Limiter: g.Limiter,
		Roles: d.Keto, Authorizer: g.Authorizer, Log: d.Log,
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

// Conversations is the conversations function. Settings: MAX_GROUP_CREATE (1000), MAX_GROUP_MEMBERS
// (10000). Its management checks go through the access layer's Authorizer, whose Conversation
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
	cfg := conversations.Config{MaxCreateMembers: d.Cfg.Int("MAX_GROUP_CREATE", 0), MaxMembers: d.Cfg.Int("MAX_GROUP_MEMBERS", 0)}
	return conversations.New(cfg, conversations.Deps{Pool: d.Pool, Outbox: d.Outbox, Mirror: mirror(d),
		Authz: g.Authorizer, Log: d.Log}).Mount(ctx, opts)
}

// Send is the send function. Settings: MAX_TEXT_CHARS (4000), MAX_UNDELIVERED (50), DELIVERY_STALL
// (3s), MAX_MENTIONS (100), FAULT_SEND_SKIP_PUBLISH ("true": the
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
	cfg := send.Config{MaxTextChars: d.Cfg.Int("MAX_TEXT_CHARS", 0), MaxUndelivered: d.Cfg.Int("MAX_UNDELIVERED", 0),
		MaxMentions:   d.Cfg.Int("MAX_MENTIONS", 0),
		DeliveryStall: stall, Topic: d.Cfg.BrokerTopic, FaultSkipPublish: d.Cfg.Value("FAULT_SEND_SKIP_PUBLISH", "") == "true"}
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

// Fanout is the fanout function (events only). Settings: DELIVERY_TOPIC (im.delivery).
func Fanout(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	cfg := fanout.Config{Topic: d.Cfg.Value("DELIVERY_TOPIC", "")}
	return fanout.New(cfg, fanout.Deps{Pool: d.Pool, Publisher: d.Writer, Log: d.Log}).Mount(ctx, d.Unguarded())
}

// Sweep is the sweep function (events only). Settings: SWEEP_OLDER_THAN (5s).
func Sweep(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	older, err := d.Cfg.Duration("SWEEP_OLDER_THAN", 5*time.Second)
	if err != nil {
		return nil, err
	}
	return sweep.New(sweep.Config{OlderThan: older}, sweep.Deps{Pool: d.Pool, Outbox: d.Outbox, Mirror: mirror(d),
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
// /v1/calls/ice-servers, and the ring-timeout sweep (runs until ctx is done). Settings:
// realtime.FromEnv's (ICE_SERVERS, TURN_SECRET, TURN_TTL, CALL_RING_TIMEOUT, CALL_MAX_DURATION,
// PRESENCE_MAX_IDS, TYPING_MAX_RECIPIENTS, DELIVERY_TOPIC).
func Realtime(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	cfg, err := realtime.FromEnv(d.Cfg.Getenv, d.Cfg.RedisPrefix)
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
