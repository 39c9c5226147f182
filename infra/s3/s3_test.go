package s3_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/s3"
	"github.com/parley-im/parley/infra/s3/s3test"
)

func TestBucketUploadDownloadThroughPresignedURLs(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	ctx := context.Background()
	c := srv.Client(t, srv.Config("files")) // creates the bucket
	if err := c.EnsureBucket(ctx); err != nil {
		t.Fatalf("second EnsureBucket: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	put, err := c.PresignPut(ctx, "u1/a.png", "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if put.Method != http.MethodPut || put.Headers.Get("Content-Type") != "image/png" {
		t.Errorf("presigned put = %+v, want PUT with the signed Content-Type", put)
	}
	req, _ := http.NewRequest(put.Method, put.URL, strings.NewReader("PNGDATA"))
	req.Header = put.Headers.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s", resp.Status)
	}
	obj, err := c.Head(ctx, "u1/a.png")
	if err != nil || obj.Size != 7 || obj.ContentType != "image/png" {
		t.Fatalf("head = %+v, %v", obj, err)
	}
	get, err := c.PresignGet(ctx, "u1/a.png")
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "PNGDATA" {
		t.Errorf("GET = %q", body)
	}
	if err := c.Delete(ctx, "u1/a.png"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Head(ctx, "u1/a.png"); !s3.IsNotFound(err) {
		t.Errorf("Head after Delete = %v, want not found", err)
	}
}

// Presigned URLs name the public endpoint, path style, whatever the internal one is.
func TestPresignUsesPublicEndpoint(t *testing.T) {
	c, err := s3.New(s3.Config{Endpoint: "http://minio.internal:9000", PublicEndpoint: "https://files.parley.example",
		AccessKey: "k", SecretKey: "s", Bucket: "media"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.PresignGet(context.Background(), "u1/x")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.URL)
	if u.Host != "files.parley.example" || !strings.HasPrefix(u.Path, "/media/u1/x") {
		t.Errorf("presigned URL %s: want host files.parley.example and path-style /media/u1/x", p.URL)
	}
	if time.Until(p.ExpiresAt) < 14*time.Minute {
		t.Errorf("expires at %v, want ~15 minutes", p.ExpiresAt)
	}
}

// DeletePrefix removes every object under the prefix (more than one page of them) and nothing else.
func TestDeletePrefix(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	ctx := context.Background()
	c := srv.Client(t, srv.Config("files"))
	put := func(key string) {
		t.Helper()
		if err := c.Put(ctx, key, "text/plain", strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1005 {
		put("u/alice/" + strconv.Itoa(i))
	}
	put("u/alice/0.thumb")
	put("u/alicea/keep")
	put("u/bob/keep")
	n, err := c.DeletePrefix(ctx, "u/alice/")
	if err != nil || n != 1006 {
		t.Fatalf("DeletePrefix: %d, %v; want 1006", n, err)
	}
	for _, k := range []string{"u/alice/0", "u/alice/0.thumb", "u/alice/1004"} {
		if _, err := c.Head(ctx, k); !s3.IsNotFound(err) {
			t.Errorf("%s still there: %v", k, err)
		}
	}
	for _, k := range []string{"u/alicea/keep", "u/bob/keep"} {
		if _, err := c.Head(ctx, k); err != nil {
			t.Errorf("%s deleted: %v", k, err)
		}
	}
	if n, err := c.DeletePrefix(ctx, "u/alice/"); err != nil || n != 0 {
		t.Fatalf("again: %d, %v", n, err)
	}
	if _, err := c.DeletePrefix(ctx, ""); err == nil {
		t.Fatal("an empty prefix was accepted")
	}
}
