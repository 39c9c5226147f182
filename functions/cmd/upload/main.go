// Command upload runs the upload function alone (its Knative image, the sink of the s3.events
// KafkaSource). Environment: boot.Env; S3_ENDPOINT, S3_BUCKET (parley-files), S3_REGION, S3_ACCESS_KEY,
// S3_SECRET_KEY, THUMB_MAX_PIXELS (50000000), THUMB_MAX_BYTES (32 MiB).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"knative.dev/pkg/signals"

	"github.com/parley-im/parley/functions/internal/boot"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/upload"
	"github.com/parley-im/parley/infra/s3"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := boot.Run(signals.NewContext(), "upload", boot.Env(os.Getenv), log, build); err != nil {
		log.Error("upload stopped", "err", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, d *boot.Deps) (http.Handler, error) {
	get := func(k, def string) string {
		if v := d.Cfg.Get(k); v != "" {
			return v
		}
		return def
	}
	bucket := get("S3_BUCKET", "parley-files")
	cli, err := s3.New(s3.Config{Endpoint: get("S3_ENDPOINT", ""), Region: get("S3_REGION", ""),
		AccessKey: get("S3_ACCESS_KEY", ""), SecretKey: get("S3_SECRET_KEY", ""), Bucket: bucket})
	if err != nil {
		return nil, err
	}
	cfg := upload.Config{Bucket: bucket, ThumbMaxPixels: d.Cfg.Int("THUMB_MAX_PIXELS", 0),
		ThumbMaxBytes: int64(d.Cfg.Int("THUMB_MAX_BYTES", 0))}
	return upload.New(cfg, upload.Deps{Pool: d.Pool, Objects: cli, Outbox: d.Outbox, Log: d.Log}).
		Mount(ctx, serve.Options{Log: d.Log})
}
