//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/client"
	"github.com/parley-im/parley/events"
)

// TestFilesEndToEnd: presign -> PUT to S3 -> the bucket notification makes the file ready (pushed as
// file.ready) -> sent as an image message -> the recipient downloads the same bytes and a smaller
// thumbnail; a stranger gets 404; a file whose bytes lie about their type is rejected.
func TestFilesEndToEnd(t *testing.T) {
	ctx := timeout(t, 90*time.Second)
	alice, bob, eve := newUser(t), newUser(t), newUser(t)
	conv := befriend(t, alice, bob)
	ca := alice.dial(t, 0)
	cb := bob.dial(t, 1)

	img := pngBytes(t, 640, 480)
	created, err := alice.CreateFile(ctx, events.CreateFileRequest{Filename: "cat.png", ContentType: "image/png", Size: int64(len(img))})
	if err != nil {
		t.Fatal(err)
	}
	if created.File.Status != events.FilePending || created.Upload.URL == "" {
		t.Fatalf("created: %+v", created)
	}
	if err := alice.Upload(ctx, created.Upload, img); err != nil {
		t.Fatal(err)
	}
	ready, err := ca.Await(ctx, func(f events.Frame) bool { return f.Type == events.FrameFileReady })
	if err != nil {
		t.Fatalf("file.ready push: %v", err)
	}
	var fact events.FileFact
	if err := json.Unmarshal(ready.Data, &fact); err != nil || fact.File.ID != created.File.ID || fact.File.Status != events.FileReady {
		t.Fatalf("file.ready data %s: %v", ready.Data, err)
	}

	m, err := ca.SendMessage(ctx, conv.ID, events.SendMessage{ClientMsgID: "img-" + randHex(4), Type: events.MessageImage, FileID: created.File.ID})
	if err != nil {
		t.Fatal(err)
	}
	if m.File == nil || m.File.ID != created.File.ID || m.File.ContentType != "image/png" {
		t.Fatalf("image message carries no file metadata: %+v", m)
	}
	push, err := cb.Await(ctx, func(f events.Frame) bool { return f.Type == events.FrameMessage })
	if err != nil {
		t.Fatal(err)
	}
	var got events.MessageFact
	if err := json.Unmarshal(push.Data, &got); err != nil || got.Message.File == nil || got.Message.File.ID != created.File.ID {
		t.Fatalf("recipient push %s: %v", push.Data, err)
	}

	fr, err := bob.GetFile(ctx, created.File.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fr.Download == nil || fr.Thumbnail == nil {
		t.Fatalf("recipient got no download or thumbnail: %+v", fr)
	}
	if body := fetch(t, ctx, fr.Download.URL); !bytes.Equal(body, img) {
		t.Fatalf("downloaded %d bytes, uploaded %d, not equal", len(body), len(img))
	}
	thumb, _, err := image.Decode(bytes.NewReader(fetch(t, ctx, fr.Thumbnail.URL)))
	if err != nil {
		t.Fatalf("thumbnail is not an image: %v", err)
	}
	if b := thumb.Bounds(); b.Dx() >= 640 || b.Dy() >= 480 || b.Dx() == 0 {
		t.Fatalf("thumbnail is %v, want smaller than 640x480", b)
	}
	if _, err := eve.GetFile(ctx, created.File.ID); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("stranger: %v, want 404", err)
	}

	// Bytes that are not what the declared type says: rejected, no download.
	fake := []byte("this is plain text pretending to be a png file, long enough to sniff")
	bad, err := alice.CreateFile(ctx, events.CreateFileRequest{Filename: "fake.png", ContentType: "image/png", Size: int64(len(fake))})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Upload(ctx, bad.Upload, fake); err != nil {
		t.Fatal(err)
	}
	for {
		fr, err := alice.GetFile(ctx, bad.File.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fr.File.Status == events.FileRejected {
			if fr.Download != nil {
				t.Fatalf("rejected file has a download URL")
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("file never rejected: %+v", fr.File)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Over the size limit: refused at presign.
	if _, err := alice.CreateFile(ctx, events.CreateFileRequest{Filename: "big.mp4", ContentType: "video/mp4", Size: 101 << 20}); client.CodeOf(err) != events.CodePayloadTooLarge {
		t.Fatalf("oversized presign: %v", err)
	}
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fetch GETs a presigned URL (storage, not the gateway: no bearer token).
func fetch(t *testing.T, ctx context.Context, url string) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned: %d %s", resp.StatusCode, body)
	}
	return body
}
