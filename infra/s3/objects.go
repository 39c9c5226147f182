package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Object reads and writes used by the upload function's verification (issue 6). Server-side only:
// they go through the internal client.

// IsNotFound reports whether err says the object (or bucket) does not exist: HEAD answers a bare
// 404 (NotFound), GET answers NoSuchKey.
func IsNotFound(err error) bool {
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchKey", "NoSuchBucket":
			return true
		}
	}
	return false
}

// ReadHead returns at most the first n bytes of key with a ranged GET, so sniffing a 100 MiB
// upload costs one small read. key must not be empty (an empty object has no byte range).
func (c *Client) ReadHead(ctx context.Context, key string, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	r, err := c.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.cfg.Bucket), Key: aws.String(key),
		Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1))})
	if err != nil {
		return nil, fmt.Errorf("get %s range: %w", key, err)
	}
	defer r.Body.Close()
	// The server may ignore Range and send everything: never read more than asked.
	b, err := io.ReadAll(io.LimitReader(r.Body, n))
	if err != nil {
		return nil, fmt.Errorf("read %s range: %w", key, err)
	}
	return b, nil
}

// Open streams key's content; the caller closes it and bounds how much it reads.
func (c *Client) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := c.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return r.Body, nil
}

// Put stores body (size bytes) at key with contentType.
func (c *Client) Put(ctx context.Context, key, contentType string, body io.Reader, size int64) error {
	in := &s3.PutObjectInput{Bucket: aws.String(c.cfg.Bucket), Key: aws.String(key), Body: body,
		ContentLength: aws.Int64(size)}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if _, err := c.api.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}
