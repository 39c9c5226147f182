// Package wire builds each Parley function from a functions process's clients (boot.Deps): one
// builder per function, used both by the function's own image (functions/cmd/<name>) and by
// parley-functions, which runs them all in one process for the local platform. A builder reads its
// function's typed settings from d.Cfg (read by boot.Env; README: configuration) and adds the
// process's clients.
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

// Identity is the identity function (accounts, tokens, OIDC issuer, admin routes); erasure deletes
// the user's files (d.Cfg.S3).
func Identity(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	f, err := identityFunction(ctx, d)
	if err != nil {
		return nil, err
	}
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return serve.Mount(ctx, d.Guarded(g), f.Routes, nil)
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
	objects, err := s3.New(d.Cfg.S3)
	if err != nil {
		return nil, err
	}
	f, err := identity.New(ctx, d.Cfg.Identity, identity.Deps{
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
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return contacts.New(contacts.Config{}, contacts.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Conversations is the conversations function (also the caller's settings and data export). Its
// management checks go through the access layer's Authorizer, whose Conversation fallback is
// messaging.Roles (boot.New).
func Conversations(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return conversations.New(d.Cfg.Conversations, conversations.Deps{Pool: d.Pool, Outbox: d.Outbox, Mirror: mirror(d),
		Authz: g.Authorizer, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Send is the send function; its relay publishes what it commits.
func Send(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	relay := d.Outbox.NewRelay(0)
	go relay.Run(ctx) // until the process stops; what is left then is the sweep's
	return send.New(d.Cfg.Send, send.Deps{Pool: d.Pool, Relay: relay, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Read is the read function.
func Read(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return read.New(read.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Revoke is the revoke function.
func Revoke(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return revoke.New(d.Cfg.Revoke, revoke.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Annotate is the annotate function (edits, reactions, pins).
func Annotate(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return annotate.New(d.Cfg.Annotate, annotate.Deps{Pool: d.Pool, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Search is the search function (GET /v1/search/messages).
func Search(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	return search.New(d.Cfg.Search, search.Deps{Pool: d.Pool, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Fanout is the fanout function (events only).
func Fanout(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	return fanout.New(d.Cfg.Fanout, fanout.Deps{Pool: d.Pool, Publisher: d.Writer, Log: d.Log}).Mount(ctx, d.Unguarded())
}

// Sweep is the sweep function (events only).
func Sweep(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	return sweep.New(d.Cfg.Sweep, sweep.Deps{Pool: d.Pool, Outbox: d.Outbox, Mirror: mirror(d),
		Log: d.Log}).Mount(ctx, d.Unguarded())
}

// Files is the files function (presigned upload and download).
func Files(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	cli, err := s3.New(d.Cfg.S3)
	if err != nil {
		return nil, err
	}
	return files.New(d.Cfg.Files, files.Deps{Pool: d.Pool, S3: cli, Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// Upload is the upload function (events only: the sink of the s3.events KafkaSource).
func Upload(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	cli, err := s3.New(d.Cfg.S3)
	if err != nil {
		return nil, err
	}
	return upload.New(d.Cfg.Upload, upload.Deps{Pool: d.Pool, Objects: cli, Outbox: d.Outbox, Log: d.Log}).Mount(ctx, d.Unguarded())
}

// Realtime is the realtime function: typing and call signaling commands, GET /v1/presence, GET
// /v1/calls/ice-servers, and the ring-timeout sweep (runs until ctx is done).
func Realtime(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	h := realtime.New(d.Cfg.Realtime, realtime.Deps{Pool: d.Pool, Redis: d.Redis, Publisher: d.Writer, Log: d.Log})
	go h.Run(ctx)
	return h.Mount(ctx, d.Guarded(g))
}

// Reports is the reports function: members report messages, admins resolve them from the queue
// with the admin revoke and ban paths. Settings: none of its own.
func Reports(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	b := &bans.Bans{Pool: d.Pool, Outbox: d.Outbox, Roles: d.Keto, Bumper: g.Revocations, Source: reports.Source, Log: d.Log}
	return reports.New(reports.Config{}, reports.Deps{Pool: d.Pool, Outbox: d.Outbox, Authz: g.Authorizer, Bans: b,
		Log: d.Log}).Mount(ctx, d.Guarded(g))
}

// mirror keeps Keto's copy of the conversation roles in step.
func mirror(d *boot.Deps) *messaging.Mirror {
	return messaging.NewMirror(keto.Conversations{Client: d.Keto}, d.Log)
}

// Push is the push function: the push device routes and the pushes of im.message.created to
// members without a live connection.
func Push(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	g, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	ps := d.Cfg.PushServices
	kek, err := sealing.New(ps.KeyEncryptionKey)
	if err != nil {
		return nil, err
	}
	key, err := push.LoadVAPIDKey(ctx, d.Pool, kek)
	if err != nil {
		return nil, err
	}
	providers, err := pushProviders(ps, key)
	if err != nil {
		return nil, err
	}
	fn, err := push.New(d.Cfg.Push, push.Deps{Pool: d.Pool, Redis: d.Redis, VAPID: key, Providers: providers, Log: d.Log})
	if err != nil {
		return nil, err
	}
	return fn.Mount(ctx, d.Guarded(g))
}

// pushProviders builds a Provider per configured platform: Web Push always (the VAPID key is the
// platform's own); FCM when its service account is given; APNs when its key is given. A platform
// left out is skipped: its devices register but get no push
// (parley_push_sent_total{outcome="unconfigured"}).
func pushProviders(c boot.PushServices, key push.VAPIDKey) (map[string]push.Provider, error) {
	roots, err := pushRoots(c.TLSCAFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr}
	wp, err := push.NewWebPush(key, c.VAPIDSubject, client)
	if err != nil {
		return nil, err
	}
	out := map[string]push.Provider{events.PlatformWebPush: wp}
	sa, err := secretValue(c.FCMServiceAccountJSON, "FCM_SERVICE_ACCOUNT_FILE", c.FCMServiceAccountFile)
	if err != nil {
		return nil, err
	}
	if len(sa) > 0 {
		fcm, err := push.NewFCM(sa, c.FCMEndpoint, client)
		if err != nil {
			return nil, err
		}
		out[events.PlatformFCM] = fcm
	}
	p8, err := secretValue(c.APNsKey, "APNS_KEY_FILE", c.APNsKeyFile)
	if err != nil {
		return nil, err
	}
	if len(p8) > 0 {
		apns, err := push.NewAPNs(push.APNsConfig{KeyP8: p8, KeyID: c.APNsKeyID, TeamID: c.APNsTeamID,
			Topic: c.APNsTopic, Endpoint: c.APNsEndpoint, RootCAs: roots})
		if err != nil {
			return nil, err
		}
		out[events.PlatformAPNs] = apns
	}
	return out, nil
}

// pushRoots are the CAs push services are verified with: the system's, plus the PEM file at path
// (PUSH_TLS_CA_FILE) when set, for a push gateway behind a private CA (and the e2e suite's
// push-service stand-in).
func pushRoots(path string) (*x509.CertPool, error) {
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

// secretValue is a credential given inline (value) or as a mounted file (path, from fileKey).
func secretValue(value, fileKey, path string) ([]byte, error) {
	if value != "" {
		return []byte(value), nil
	}
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fileKey, err)
	}
	return b, nil
}
