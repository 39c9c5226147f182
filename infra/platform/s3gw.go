package platform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-im/parley/infra/platform/supervise"
	"github.com/parley-im/parley/infra/s3"
)

// startS3 runs versitygw over DataDir/s3 with bucket notifications to the s3.events topic, and
// creates the bucket once it answers.
func (p *Platform) startS3(ctx context.Context) error {
	bin := filepath.Join(p.cfg.BinDir, "versitygw")
	if !p.built(bin, "versitygw (S3)", "make tools") {
		return nil
	}
	root := filepath.Join(p.cfg.DataDir, "s3")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	env := append(os.Environ(), "ROOT_ACCESS_KEY="+p.cfg.S3AccessKey, "ROOT_SECRET_KEY="+p.cfg.S3SecretKey)
	proc, err := supervise.Start(supervise.Spec{
		Name: "versitygw", Path: bin,
		Args: []string{"--port", p.Addrs.S3, "--region", p.cfg.S3Region, "--quiet",
			"--event-kafka-url", p.Addrs.Kafka, "--event-kafka-topic", p.values.Topics.S3Events,
			// Browsers upload and download with presigned URLs from the web client's origin.
			"--cors-allow-origin", p.cfg.AllowedOrigins[0],
			"posix", root},
		Env: env, Restart: !p.cfg.NoRestart, StopTimeout: p.cfg.StopTimeout, PidFile: p.pidFile("versitygw"),
	}, p.out, p.log)
	if err != nil {
		return err
	}
	p.procs = append(p.procs, proc)
	p.addCloser("versitygw", proc.Stop)
	cli, err := s3.New(s3.Config{Endpoint: p.Addrs.S3URL, PublicEndpoint: p.Addrs.S3PublicURL, Region: p.cfg.S3Region,
		AccessKey: p.cfg.S3AccessKey, SecretKey: p.cfg.S3SecretKey, Bucket: p.cfg.S3Bucket})
	if err != nil {
		return err
	}
	// versitygw takes a moment to listen: retry creating the bucket until it answers.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err = cli.EnsureBucket(wctx)
		if err == nil {
			break
		}
		if wctx.Err() != nil {
			return fmt.Errorf("versitygw did not come up on %s: %w", p.Addrs.S3, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.addCheck("s3", cli.Ping)
	return nil
}
