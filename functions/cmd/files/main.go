// Command files runs the files function alone (its Knative image). Environment: boot.Env; S3_ENDPOINT,
// S3_PUBLIC_ENDPOINT (presigned URLs; default S3_ENDPOINT), S3_BUCKET (parley-files), S3_REGION,
// S3_ACCESS_KEY, S3_SECRET_KEY, S3_PRESIGN_EXPIRY (15m), MAX_FILE_SIZE (bytes, 100 MiB).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/files"
	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/infra/s3"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "files", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("files stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	_, opts, err := d.Guard(ctx)
	if err != nil {
		return nil, err
	}
	expiry, err := d.Cfg.Duration("S3_PRESIGN_EXPIRY", 0)
	if err != nil {
		return nil, err
	}
	get := func(k, def string) string {
		if v := d.Cfg.Get(k); v != "" {
			return v
		}
		return def
	}
	cli, err := s3.New(s3.Config{Endpoint: get("S3_ENDPOINT", ""), PublicEndpoint: get("S3_PUBLIC_ENDPOINT", ""),
		Region: get("S3_REGION", ""), AccessKey: get("S3_ACCESS_KEY", ""), SecretKey: get("S3_SECRET_KEY", ""),
		Bucket: get("S3_BUCKET", "parley-files"), PresignExpiry: expiry})
	if err != nil {
		return nil, err
	}
	cfg := files.Config{MaxSize: int64(d.Cfg.Int("MAX_FILE_SIZE", 0))}
	return files.New(cfg, files.Deps{Pool: d.Pool, S3: cli, Log: d.Log}).Mount(ctx, opts)
}
