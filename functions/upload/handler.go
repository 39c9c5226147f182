// Package upload is the upload function: a KafkaSource delivers each S3 bucket notification
// (versitygw or S3 writes plain JSON records to the s3.events topic; the source wraps them as
// dev.knative.kafka.event). For an object that belongs to a pending file it checks the stored bytes
// against what the owner declared (size no larger, magic bytes of the declared type), makes a
// thumbnail of images, and moves the file once to ready (im.file.uploaded) or rejected (object
// deleted, im.file.rejected). Delivery is at-least-once and unordered: a file that left pending is
// never processed again, and the state change commits with its fact in one transaction.
package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/files/media"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
	"github.com/parley-im/parley/infra/s3"
)

// Source is the CloudEvents source of upload's facts.
const Source = "/parley/upload"

// ThumbSuffix is appended to a file's object key to name its thumbnail.
const ThumbSuffix = ".thumb"

// Reasons of im.file.rejected (FileFact.Reason).
const (
	ReasonTooLarge        = "size_exceeds_declared"
	ReasonEmpty           = "empty"
	ReasonContentMismatch = "content_mismatch"
	ReasonMissing         = "object_missing"
)

// Config of the function. Zero values take the defaults.
type Config struct {
	// Bucket is the files bucket; notifications of other buckets are ignored.
	Bucket string
	// ThumbMaxSide bounds a thumbnail's sides (default 256 px).
	ThumbMaxSide int
	// ThumbMaxPixels refuses to decode larger images (decompression bombs); default 50 megapixels.
	// Such an image is still ready, just without a thumbnail.
	ThumbMaxPixels int
	// ThumbMaxBytes: larger image files get no thumbnail (they are read whole to decode); default 32 MiB.
	ThumbMaxBytes int64
}

// Objects is the S3 access the verification needs (*s3.Client, internal endpoint).
type Objects interface {
	Head(ctx context.Context, key string) (s3.Object, error)
	ReadHead(ctx context.Context, key string, n int64) ([]byte, error)
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Put(ctx context.Context, key, contentType string, body io.Reader, size int64) error
	Delete(ctx context.Context, key string) error
}

// Deps are the function's clients.
type Deps struct {
	Pool    *pgxpool.Pool
	Objects Objects
	Outbox  messaging.Outbox
	Log     *slog.Logger
}

// Handler is the upload function. It is safe for concurrent use.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.ThumbMaxSide <= 0 {
		cfg.ThumbMaxSide = 256
	}
	if cfg.ThumbMaxPixels <= 0 {
		cfg.ThumbMaxPixels = 50_000_000
	}
	if cfg.ThumbMaxBytes <= 0 {
		cfg.ThumbMaxBytes = 32 << 20
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves POST / for the KafkaSource (no public routes).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, nil, h.HandleEvent)
}

// notification is the part of an S3 event notification the function reads. versitygw also writes
// one {"Event":"s3:TestEvent",...} record (no Records) when it starts.
type notification struct {
	Event   string `json:"Event"`
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string  `json:"key"`
				Size int64   `json:"size"`
				ETag *string `json:"eTag"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// HandleEvent handles one bucket notification. Anything that is not about a pending file's upload
// (test events, deletions, thumbnails, unknown keys, files already decided) is acknowledged and
// dropped; a record that is not a notification at all is poison (dead-lettered, never retried);
// an error talking to S3 or PostgreSQL is retried. The KafkaSource discards replies, so there are none.
func (h *Handler) HandleEvent(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.TypeKafkaRecord {
		return nil, events.Invalid("type", "upload does not handle %s", e.Type())
	}
	var n notification
	if err := json.Unmarshal(e.Data(), &n); err != nil {
		return nil, events.Invalid("data", "not an S3 event notification: %v", err)
	}
	for _, r := range n.Records {
		if !strings.HasPrefix(r.EventName, "s3:ObjectCreated:") {
			continue
		}
		if h.cfg.Bucket != "" && r.S3.Bucket.Name != h.cfg.Bucket {
			continue
		}
		etag := ""
		if r.S3.Object.ETag != nil {
			etag = *r.S3.Object.ETag
		}
		if err := h.Process(ctx, r.S3.Object.Key, etag); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// file is a files row as verification needs it.
type file struct {
	events.File
	key   string
	etag  string
	thumb *string
}

// Process verifies the object at key if it belongs to a pending file. etag is the notification's
// (may be empty); it only serves to notice an object replaced after verification.
func (h *Handler) Process(ctx context.Context, key, etag string) error {
	if key == "" || strings.HasSuffix(key, ThumbSuffix) {
		return nil
	}
	f, ok, err := h.load(ctx, key)
	if err != nil || !ok {
		return err
	}
	log := h.d.Log.With("file", f.ID, "owner", f.OwnerID)
	switch f.Status {
	case events.FileReady:
		if etag != "" && f.etag != "" && strings.Trim(etag, `"`) != strings.Trim(f.etag, `"`) {
			// The presigned PUT stays valid until it expires: the owner overwrote verified bytes.
			log.WarnContext(ctx, "object of a ready file was replaced after verification", "key", f.key)
		}
		return nil
	case events.FileRejected:
		// Already decided; make sure the object is gone (a crash may have come between commit and delete).
		return h.d.Objects.Delete(ctx, f.key)
	}
	v, err := h.verify(ctx, f)
	if err != nil {
		return err
	}
	if v.reason != "" {
		log.InfoContext(ctx, "file rejected", "reason", v.reason)
		return h.reject(ctx, f, v.reason)
	}
	return h.ready(ctx, f, v)
}

// load finds the file of an object key. Notifications may carry the key URL-encoded (AWS does,
// versitygw does not), so both spellings are looked up.
func (h *Handler) load(ctx context.Context, key string) (file, bool, error) {
	keys := []string{key}
	if u, err := url.QueryUnescape(key); err == nil && u != key {
		keys = append(keys, u)
	}
	var f file
	err := h.d.Pool.QueryRow(ctx, `SELECT id, owner_id, filename, content_type, size, status, created_at, object_key,
		coalesce(etag, ''), thumbnail_key FROM files WHERE object_key = ANY($1)`, keys).
		Scan(&f.ID, &f.OwnerID, &f.Filename, &f.ContentType, &f.Size, &f.Status, &f.CreatedAt, &f.key, &f.etag, &f.thumb)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("load file: %w", err)
	}
	f.CreatedAt = f.CreatedAt.UTC()
	return f, true, nil
}

// verdict is the outcome of verification: a rejection reason, or what a ready file records.
type verdict struct {
	reason   string
	size     int64
	etag     string
	thumbKey *string
}

// verify checks the stored object against f's declaration and makes the thumbnail.
func (h *Handler) verify(ctx context.Context, f file) (verdict, error) {
	obj, err := h.d.Objects.Head(ctx, f.key)
	if s3.IsNotFound(err) {
		return verdict{reason: ReasonMissing}, nil
	}
	if err != nil {
		return verdict{}, err
	}
	switch {
	case obj.Size > f.Size:
		return verdict{reason: ReasonTooLarge}, nil
	case obj.Size <= 0:
		return verdict{reason: ReasonEmpty}, nil
	}
	// The upload URL signs Content-Type, so a different stored type means someone else wrote the object.
	if mt, _, err := mime.ParseMediaType(obj.ContentType); obj.ContentType != "" && (err != nil || mt != f.ContentType) {
		return verdict{reason: ReasonContentMismatch}, nil
	}
	head, err := h.d.Objects.ReadHead(ctx, f.key, media.SniffLen)
	if s3.IsNotFound(err) {
		return verdict{reason: ReasonMissing}, nil
	}
	if err != nil {
		return verdict{}, err
	}
	if !media.Matches(f.ContentType, head) {
		return verdict{reason: ReasonContentMismatch}, nil
	}
	v := verdict{size: obj.Size, etag: obj.ETag}
	if media.Thumbnailable(f.ContentType) && obj.Size <= h.cfg.ThumbMaxBytes {
		k, err := h.makeThumbnail(ctx, f, obj.Size)
		if err != nil {
			return verdict{}, err
		}
		v.thumbKey = k
	}
	return v, nil
}

// makeThumbnail stores a thumbnail of f's image and returns its key, or nil when the image cannot
// be thumbnailed (corrupt past its magic bytes, too many pixels): the file is still ready, clients
// show a generic icon. Only S3 errors are returned (retried).
func (h *Handler) makeThumbnail(ctx context.Context, f file, size int64) (*string, error) {
	rc, err := h.d.Objects.Open(ctx, f.key)
	if err != nil {
		return nil, err
	}
	src, err := io.ReadAll(io.LimitReader(rc, size))
	_ = rc.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.key, err)
	}
	data, ct, err := thumbnail(src, f.ContentType, h.cfg.ThumbMaxSide, h.cfg.ThumbMaxPixels)
	if err != nil {
		h.d.Log.InfoContext(ctx, "no thumbnail", "file", f.ID, "err", err)
		return nil, nil
	}
	key := f.key + ThumbSuffix
	if err := h.d.Objects.Put(ctx, key, ct, bytes.NewReader(data), int64(len(data))); err != nil {
		return nil, err
	}
	return &key, nil
}

// ready records a verified file and its im.file.uploaded fact. The status guard makes a concurrent
// or repeated delivery a no-op: exactly one fact per file.
func (h *Handler) ready(ctx context.Context, f file, v verdict) error {
	return h.decide(ctx, f, events.TypeFileUploaded, "", func(tx pgx.Tx, out *events.File) error {
		return tx.QueryRow(ctx, `UPDATE files SET status = 'ready', size = $2, etag = $3, thumbnail_key = $4,
				verified_at = now()
			WHERE id = $1 AND status = 'pending' RETURNING size, status`, f.ID, v.size, v.etag, v.thumbKey).
			Scan(&out.Size, &out.Status)
	})
}

// reject records a rejection with its im.file.rejected fact, then deletes the object. A crash
// before the delete leaves it to the next delivery (Process deletes for rejected files).
func (h *Handler) reject(ctx context.Context, f file, reason string) error {
	if err := h.decide(ctx, f, events.TypeFileRejected, reason, func(tx pgx.Tx, out *events.File) error {
		return tx.QueryRow(ctx, `UPDATE files SET status = 'rejected', reject_reason = $2, verified_at = now()
			WHERE id = $1 AND status = 'pending' RETURNING size, status`, f.ID, reason).Scan(&out.Size, &out.Status)
	}); err != nil {
		return err
	}
	return h.d.Objects.Delete(ctx, f.key)
}

// decide runs update (which moves the row out of pending, or matches nothing) and adds the fact,
// keyed by the owner, in one transaction, then publishes the fact.
func (h *Handler) decide(ctx context.Context, f file, typ, reason string, update func(pgx.Tx, *events.File) error) error {
	return h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		out := f.File
		err := update(tx, &out)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // decided meanwhile by another delivery
		}
		if err != nil {
			return fmt.Errorf("update file: %w", err)
		}
		return messaging.EmitFact(ctx, emit, Source, typ, f.OwnerID, events.FileFact{File: out, Reason: reason})
	})
}
