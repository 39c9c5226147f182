package main

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/parley-im/parley/functions/files"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/upload"
	"github.com/parley-im/parley/infra/s3"
)

// Builders of the files functions (issue 6). Environment: S3_ENDPOINT (servers' URL of S3),
// S3_PUBLIC_ENDPOINT (clients' URL, signed into presigned URLs; default S3_ENDPOINT), S3_BUCKET
// (parley-files), S3_REGION (us-east-1), S3_ACCESS_KEY, S3_SECRET_KEY, S3_PRESIGN_EXPIRY (15m),
// MAX_FILE_SIZE (bytes, default 100 MiB), THUMB_MAX_PIXELS (50000000), THUMB_MAX_BYTES (32 MiB).

// s3Client builds a client from the environment; it does no I/O (the platform creates the bucket).
func s3Client() (*s3.Client, error) {
	expiry, err := durationEnv("S3_PRESIGN_EXPIRY", 15*time.Minute)
	if err != nil {
		return nil, err
	}
	return s3.New(s3.Config{Endpoint: os.Getenv("S3_ENDPOINT"), PublicEndpoint: os.Getenv("S3_PUBLIC_ENDPOINT"),
		Region: os.Getenv("S3_REGION"), AccessKey: os.Getenv("S3_ACCESS_KEY"), SecretKey: os.Getenv("S3_SECRET_KEY"),
		Bucket: env("S3_BUCKET", "parley-files"), PresignExpiry: expiry})
}

func buildFiles(ctx context.Context, d *deps) (http.Handler, error) {
	opts, err := d.messagingOptions(ctx)
	if err != nil {
		return nil, err
	}
	cli, err := s3Client()
	if err != nil {
		return nil, err
	}
	cfg := files.Config{MaxSize: int64(intEnv("MAX_FILE_SIZE", 0))}
	return files.New(cfg, files.Deps{Pool: d.pool, S3: cli, Log: d.log}).Mount(ctx, opts)
}

func buildUpload(ctx context.Context, d *deps) (http.Handler, error) {
	ob, err := d.outbox()
	if err != nil {
		return nil, err
	}
	cli, err := s3Client()
	if err != nil {
		return nil, err
	}
	cfg := upload.Config{Bucket: cli.Bucket(), ThumbMaxPixels: intEnv("THUMB_MAX_PIXELS", 0),
		ThumbMaxBytes: int64(intEnv("THUMB_MAX_BYTES", 0))}
	return upload.New(cfg, upload.Deps{Pool: d.pool, Objects: cli, Outbox: ob, Log: d.log}).
		Mount(ctx, serve.Options{Log: d.log})
}
