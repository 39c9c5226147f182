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

// DeletePrefix removes every object whose key starts with prefix (a user's files and thumbnails on
// erasure) and returns how many it deleted. It lists and deletes in pages of up to 1,000 keys (one
// DeleteObjects request each), so memory stays bounded whatever the count; running it again after
// a failure finishes the job.
func (c *Client) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if prefix == "" {
		return 0, errors.New("delete prefix: refusing an empty prefix (the whole bucket)")
	}
	n := 0
	pages := s3.NewListObjectsV2Paginator(c.api, &s3.ListObjectsV2Input{Bucket: aws.String(c.cfg.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("list %s: %w", prefix, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		out, err := c.api.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(c.cfg.Bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return n, fmt.Errorf("delete %s: %w", prefix, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return n, fmt.Errorf("delete %s: %d keys failed, first %s: %s", prefix, len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Message))
		}
		n += len(ids)
	}
	return n, nil
}
