// Package s3 wraps aws-sdk-go-v2's S3 client for Parley's file storage: an internal client for
// server-side calls and a presign client bound to the public endpoint clients use (the host is part
// of the signature, so presigning with the internal endpoint would give URLs clients cannot use).
// Both use path-style addressing and compute checksums only when required, which S3-compatible
// servers such as versitygw and MinIO need.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Config of the S3 adapter.
type Config struct {
	// Endpoint is the URL servers reach S3 on ("http://127.0.0.1:7070"); empty = AWS.
	Endpoint string
	// PublicEndpoint is the URL clients reach S3 on; presigned URLs use it. Default Endpoint.
	PublicEndpoint string
	Region         string // default us-east-1
	AccessKey      string
	SecretKey      string
	Bucket         string
	// PresignExpiry is how long presigned URLs are valid; default 15 minutes.
	PresignExpiry time.Duration
	// HTTPClient for server-side calls (e.g. with otelhttp); default the SDK's.
	HTTPClient *http.Client
}

// Client is the S3 adapter. It is safe for concurrent use.
type Client struct {
	cfg     Config
	api     *s3.Client
	presign *s3.PresignClient
}

// New builds both clients; it does no I/O.
func New(cfg Config) (*Client, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3: bucket is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.PublicEndpoint == "" {
		cfg.PublicEndpoint = cfg.Endpoint
	}
	if cfg.PresignExpiry <= 0 {
		cfg.PresignExpiry = 15 * time.Minute
	}
	// Static keys when configured (versitygw, MinIO); otherwise the SDK's default chain: environment,
	// shared files, web identity (IRSA on EKS), container and instance roles. Loading the chain reads
	// only the environment and local files; credentials are fetched lazily, on the first request.
	var creds aws.CredentialsProvider
	if cfg.AccessKey != "" {
		creds = aws.NewCredentialsCache(aws.CredentialsProviderFunc(
			func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, Source: "parley-config"}, nil
			}))
	} else {
		awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("s3: default credentials: %w", err)
		}
		creds = awsCfg.Credentials
	}
	opts := func(endpoint string) s3.Options {
		o := s3.Options{
			Region:       cfg.Region,
			UsePathStyle: true,
			// Since s3 v1.73 the SDK adds CRC32 checksums by default; S3-compatible servers may refuse them.
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Credentials = creds
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
		return o
	}
	c := &Client{cfg: cfg, api: s3.New(opts(cfg.Endpoint))}
	c.presign = s3.NewPresignClient(s3.New(opts(cfg.PublicEndpoint)), s3.WithPresignExpires(cfg.PresignExpiry))
	return c, nil
}

// API is the underlying SDK client, for calls this package does not wrap.
func (c *Client) API() *s3.Client { return c.api }

// Bucket is the configured bucket.
func (c *Client) Bucket() string { return c.cfg.Bucket }

// EnsureBucket creates the bucket unless it exists.
func (c *Client) EnsureBucket(ctx context.Context) error {
	_, err := c.api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(c.cfg.Bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err == nil || errors.As(err, &owned) || errors.As(err, &exists) {
		return nil
	}
	return fmt.Errorf("create bucket %s: %w", c.cfg.Bucket, err)
}

// Ping checks the bucket is reachable with the configured credentials.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.cfg.Bucket)}); err != nil {
		return fmt.Errorf("s3 head bucket %s: %w", c.cfg.Bucket, err)
	}
	return nil
}

// Presigned is a URL a client can use directly.
type Presigned struct {
	URL       string
	Method    string
	Headers   http.Header // headers the client must send as signed (Content-Type for uploads)
	ExpiresAt time.Time
}

// PresignPut returns an upload URL for key. contentType is signed: the client must send it.
func (c *Client) PresignPut(ctx context.Context, key, contentType string) (Presigned, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(c.cfg.Bucket), Key: aws.String(key)}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	r, err := c.presign.PresignPutObject(ctx, in)
	if err != nil {
		return Presigned{}, fmt.Errorf("presign put %s: %w", key, err)
	}
	h := http.Header{}
	for k, vs := range r.SignedHeader {
		if http.CanonicalHeaderKey(k) == "Host" {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = vs
	}
	return Presigned{URL: r.URL, Method: r.Method, Headers: h, ExpiresAt: time.Now().Add(c.cfg.PresignExpiry)}, nil
}

// PresignGet returns a download URL for key.
func (c *Client) PresignGet(ctx context.Context, key string) (Presigned, error) {
	r, err := c.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return Presigned{}, fmt.Errorf("presign get %s: %w", key, err)
	}
	return Presigned{URL: r.URL, Method: r.Method, ExpiresAt: time.Now().Add(c.cfg.PresignExpiry)}, nil
}

// Object is what Head returns.
type Object struct {
	Size        int64
	ContentType string
	ETag        string
}

// Head returns the stored object's metadata.
func (c *Client) Head(ctx context.Context, key string) (Object, error) {
	r, err := c.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return Object{}, fmt.Errorf("head %s: %w", key, err)
	}
	return Object{Size: aws.ToInt64(r.ContentLength), ContentType: aws.ToString(r.ContentType), ETag: aws.ToString(r.ETag)}, nil
}

// Delete removes key (no error when it does not exist).
func (c *Client) Delete(ctx context.Context, key string) error {
	if _, err := c.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.cfg.Bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
