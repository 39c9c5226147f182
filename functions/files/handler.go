// Package files is the files function: POST /v1/files validates what a client wants to upload,
// records a pending file and answers a short-lived presigned PUT; GET /v1/files/{id} answers the
// metadata and, once the upload function has verified the bytes, presigned download URLs. Clients
// never send file bytes through Parley: they go straight to S3.
package files

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/files/media"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/s3"
)

// DefaultMaxSize is the largest file accepted unless configured (API.md: file <= 100 MiB).
const DefaultMaxSize = 100 << 20

// MaxFilenameChars bounds a file name (most file systems allow 255).
const MaxFilenameChars = 255

// Config of the function. Zero values take the defaults.
type Config struct {
	MaxSize int64 // default DefaultMaxSize
}

// Presigner makes the URLs clients use to reach S3 (*s3.Client, bound to the public endpoint). The
// URLs' lifetime is the presigner's configuration.
type Presigner interface {
	PresignPut(ctx context.Context, key, contentType string) (s3.Presigned, error)
	PresignGet(ctx context.Context, key string) (s3.Presigned, error)
}

// Deps are the function's clients.
type Deps struct {
	Pool *pgxpool.Pool
	S3   Presigner
	Log  *slog.Logger
}

// Handler is the files function. It is safe for concurrent use.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the public routes (the function has no trigger).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, nil)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/files", serve.UserRoute(h.d.Log, h.create))
	mux.Handle("GET /v1/files/{id}", serve.UserRoute(h.d.Log, h.get))
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.CreateFileRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	out, err := h.Create(r.Context(), userID, body)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusCreated, out)
}

// Create records a pending file of userID and presigns its upload.
func (h *Handler) Create(ctx context.Context, userID string, req events.CreateFileRequest) (events.FileCreated, error) {
	ct, err := h.validate(req)
	if err != nil {
		return events.FileCreated{}, err
	}
	key, err := objectKey(userID)
	if err != nil {
		return events.FileCreated{}, err
	}
	f := events.File{ID: messaging.NewID(), OwnerID: userID, Filename: req.Filename, ContentType: ct, Size: req.Size,
		Status: events.FilePending, CreatedAt: messaging.Now()}
	// Presign before inserting: a presign failure then leaves no row behind. Presigning is offline.
	up, err := h.d.S3.PresignPut(ctx, key, ct)
	if err != nil {
		return events.FileCreated{}, err
	}
	if _, err := h.d.Pool.Exec(ctx, `INSERT INTO files (id, owner_id, filename, content_type, size, status, object_key, created_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)`, f.ID, f.OwnerID, f.Filename, f.ContentType, f.Size, key, f.CreatedAt); err != nil {
		return events.FileCreated{}, fmt.Errorf("insert file: %w", err)
	}
	headers := map[string]string{}
	for k, vs := range up.Headers {
		if len(vs) > 0 {
			headers[k] = vs[0]
		}
	}
	// Content-Type is signed: the client must send exactly this value.
	headers["Content-Type"] = ct
	return events.FileCreated{File: f, Upload: events.PresignedRequest{URL: up.URL, Method: http.MethodPut,
		Headers: headers, ExpiresAt: up.ExpiresAt.UTC()}}, nil
}

// validate checks req and returns its canonical content type.
func (h *Handler) validate(req events.CreateFileRequest) (string, error) {
	if err := validFilename(req.Filename); err != nil {
		return "", err
	}
	switch {
	case req.Size <= 0:
		return "", events.Invalid("size", "must be at least 1 byte")
	case req.Size > h.cfg.MaxSize:
		return "", events.Errorf(events.CodePayloadTooLarge, "a file may be at most %d bytes", h.cfg.MaxSize)
	}
	if strings.TrimSpace(req.ContentType) == "" {
		return "", events.Invalid("content_type", "is required")
	}
	ct, ok := media.Canonical(req.ContentType)
	if !ok {
		return "", events.Errorf(events.CodeUnsupportedMediaType, "files of type %q are not accepted", req.ContentType)
	}
	return ct, nil
}

// validFilename accepts 1-255 characters with no path separators and no control characters, so the
// name is safe to show and to offer as a download name on any system.
func validFilename(name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return events.Invalid("filename", "must be valid UTF-8")
	case n == 0 || strings.TrimSpace(name) == "":
		return events.Invalid("filename", "is required")
	case n > MaxFilenameChars:
		return events.Invalid("filename", "must be at most %d characters", MaxFilenameChars)
	case name == "." || name == "..":
		return events.Invalid("filename", "is not a file name")
	case strings.ContainsAny(name, `/\`):
		return events.Invalid("filename", "must not contain path separators")
	}
	for _, r := range name {
		// Bidi overrides and isolates are refused too: they make "gpj.exe" display as "exe.jpg".
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' ||
			(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return events.Invalid("filename", "must not contain control characters")
		}
	}
	return nil
}

// objectKey is a fresh key under the owner's prefix. 128 random bits: keys cannot be guessed, and a
// presigned URL for one key grants nothing on another.
func objectKey(ownerID string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("object key: %w", err)
	}
	return "u/" + ownerID + "/" + hex.EncodeToString(b), nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, userID string) error {
	out, err := h.Get(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, out)
}

// Get returns file id as userID may see it: the owner, or a member of a conversation where a
// message carries the file. Anyone else gets not_found, as for a missing file, so ids cannot be
// probed. Only ready files come with download (and thumbnail) URLs.
func (h *Handler) Get(ctx context.Context, userID, id string) (events.FileResponse, error) {
	var f events.File
	var key string
	var thumb *string
	var visible bool
	err := h.d.Pool.QueryRow(ctx, `SELECT f.id, f.owner_id, f.filename, f.content_type, f.size, f.status, f.created_at,
			f.object_key, f.thumbnail_key,
			f.owner_id = $2 OR EXISTS (SELECT 1 FROM messages m JOIN conversation_members cm
				ON cm.conversation_id = m.conversation_id AND cm.user_id = $2 WHERE m.file_id = f.id)
		FROM files f WHERE f.id = $1`, id, userID).
		Scan(&f.ID, &f.OwnerID, &f.Filename, &f.ContentType, &f.Size, &f.Status, &f.CreatedAt, &key, &thumb, &visible)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !visible) {
		return events.FileResponse{}, events.Errorf(events.CodeNotFound, "no such file")
	}
	if err != nil {
		return events.FileResponse{}, fmt.Errorf("load file: %w", err)
	}
	f.CreatedAt = f.CreatedAt.UTC()
	out := events.FileResponse{File: f}
	if f.Status != events.FileReady {
		return out, nil
	}
	dl, err := h.d.S3.PresignGet(ctx, key)
	if err != nil {
		return events.FileResponse{}, err
	}
	out.Download = &events.PresignedRequest{URL: dl.URL, Method: http.MethodGet, ExpiresAt: dl.ExpiresAt.UTC()}
	if thumb != nil {
		tn, err := h.d.S3.PresignGet(ctx, *thumb)
		if err != nil {
			return events.FileResponse{}, err
		}
		out.Thumbnail = &events.PresignedRequest{URL: tn.URL, Method: http.MethodGet, ExpiresAt: tn.ExpiresAt.UTC()}
	}
	return out, nil
}
