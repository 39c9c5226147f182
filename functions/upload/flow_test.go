package upload_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/files"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/functions/send"
	"github.com/parley-im/parley/functions/upload"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/postgres/pgtest"
	"github.com/parley-im/parley/infra/s3"
	"github.com/parley-im/parley/infra/s3/s3test"
)

const bucket = "parley-files"

// env is one private versitygw with notifications to a kfake topic, relayed the way the platform's
// KafkaSource does (events.WrapRecord, HTTP POST) to the upload function, plus the files and send
// functions over one fresh database.
type env struct {
	gw      *s3test.Server
	s3      *s3.Client
	pool    *pgxpool.Pool
	files   http.Handler
	upload  http.Handler
	send    *send.Handler
	pub     *mt.Publisher
	relayMu sync.Mutex
	relayed map[string][]relayed // object key -> deliveries
}

type relayed struct {
	event  event.Event
	status int
	at     time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	kc := kafkatest.Start(t)
	topic := kc.Topic(t, 3)
	gw := s3test.Start(t, s3test.Options{KafkaBroker: kc.Brokers[0], Topic: topic})
	cli := gw.Client(t, gw.Config(bucket))
	pool, _ := pgtest.New(t)
	ob, pub := mt.Outbox(pool)
	e := &env{gw: gw, s3: cli, pub: pub, pool: pool, relayed: map[string][]relayed{}}
	var err error
	if e.files, err = files.New(files.Config{MaxSize: 1 << 20}, files.Deps{Pool: pool, S3: cli, Log: mt.Log()}).
		Mount(ctx, serve.Options{Log: mt.Log()}); err != nil {
		t.Fatal(err)
	}
	if e.upload, err = upload.New(upload.Config{Bucket: bucket}, upload.Deps{Pool: pool, Objects: cli, Outbox: ob, Log: mt.Log()}).
		Mount(ctx, serve.Options{Log: mt.Log()}); err != nil {
		t.Fatal(err)
	}
	e.send = send.New(send.Config{}, send.Deps{Pool: pool, Relay: mt.Relay(t, ob), Log: mt.Log()})
	if _, err := e.send.Mount(ctx, serve.Options{Log: mt.Log()}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = kafka.Consume(ctx, kafka.ConsumerConfig{Brokers: kc.Brokers, Topics: []string{topic}, Logger: mt.Log()},
			func(ctx context.Context, m kafka.Message) error {
				ev := events.WrapRecord("parley", "s3-events", m.Topic, m.Partition, m.Offset, m.Record, m.Time)
				status := post(e.upload, ev)
				var n struct {
					Records []struct {
						S3 struct {
							Object struct{ Key string } `json:"object"`
						} `json:"s3"`
					}
				}
				_ = json.Unmarshal(m.Record.Value, &n)
				key := "(test event)"
				if len(n.Records) > 0 {
					key = n.Records[0].S3.Object.Key
				}
				e.relayMu.Lock()
				e.relayed[key] = append(e.relayed[key], relayed{ev, status, time.Now()})
				e.relayMu.Unlock()
				return nil
			})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// post delivers ev like the KafkaSource dispatcher: HTTP POST, binary mode.
func post(h http.Handler, ev event.Event) int {
	req := httptest.NewRequest("POST", "/", bytes.NewReader(ev.Data()))
	req.Header.Set("Content-Type", ev.DataContentType())
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", ev.ID())
	req.Header.Set("ce-source", ev.Source())
	req.Header.Set("ce-type", ev.Type())
	req.Header.Set("ce-subject", ev.Subject())
	for k, v := range ev.Extensions() {
		req.Header.Set("ce-"+k, fmt.Sprint(v))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func (e *env) deliveries(key string) []relayed {
	e.relayMu.Lock()
	defer e.relayMu.Unlock()
	return append([]relayed(nil), e.relayed[key]...)
}

// createFile presigns an upload as user.
func (e *env) createFile(t *testing.T, user, name, ct string, size int) events.FileCreated {
	t.Helper()
	var out events.FileCreated
	body := fmt.Sprintf(`{"filename":%q,"content_type":%q,"size":%d}`, name, ct, size)
	if code, raw := mt.Do(t, e.files, user, "POST", "/v1/files", body, &out); code != http.StatusCreated {
		t.Fatalf("create file: %d %s", code, raw)
	}
	return out
}

// put uploads data with the presigned request, as a client would: plain net/http, signed headers.
func put(t *testing.T, up events.PresignedRequest, data []byte) int {
	t.Helper()
	req, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func fetch(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitStatus polls the file's status until it leaves pending.
func (e *env) waitStatus(t *testing.T, id string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 15*time.Second {
		var status string
		if err := e.pool.QueryRow(context.Background(), `SELECT status FROM files WHERE id = $1`, id).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status != events.FilePending {
			return status, time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("file %s still pending after 15s", id)
	return "", 0
}

func (e *env) facts(typ, fileID string) int {
	n := 0
	for _, ev := range e.pub.Published(typ) {
		var f events.FileFact
		if json.Unmarshal(ev.Data(), &f) == nil && f.File.ID == fileID {
			n++
		}
	}
	return n
}

func (e *env) objectKey(t *testing.T, id string) string {
	t.Helper()
	var key string
	if err := e.pool.QueryRow(context.Background(), `SELECT object_key FROM files WHERE id = $1`, id).Scan(&key); err != nil {
		t.Fatal(err)
	}
	return key
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFiles(t *testing.T) {
	e := newEnv(t)
	users := mt.Users(t, e.pool, 3)
	owner, member, stranger := users[0], users[1], users[2]
	conv := mt.Group(t, e.pool, owner, member)

	t.Run("image upload, ready, sent, downloaded by a member", func(t *testing.T) {
		img := testPNG(t, 800, 600)
		fc := e.createFile(t, owner, "photo.png", "image/png", len(img))
		if fc.File.Status != events.FilePending || fc.Upload.Method != "PUT" || fc.Upload.Headers["Content-Type"] != "image/png" {
			t.Fatalf("created: %+v", fc)
		}
		// Pending: metadata only, even for the owner.
		var got events.FileResponse
		if code, raw := mt.Do(t, e.files, owner, "GET", "/v1/files/"+fc.File.ID, "", &got); code != 200 || got.Download != nil {
			t.Fatalf("pending get: %d %s", code, raw)
		}
		if code := put(t, fc.Upload, img); code != 200 {
			t.Fatalf("put: %d", code)
		}
		status, latency := e.waitStatus(t, fc.File.ID)
		if status != events.FileReady {
			t.Fatalf("status %s", status)
		}
		t.Logf("upload-to-ready latency (PUT answered -> row ready, via versitygw notification + kfake + relay): %v", latency)
		if n := e.facts(events.TypeFileUploaded, fc.File.ID); n != 1 {
			t.Fatalf("im.file.uploaded facts: %d", n)
		}

		// Not yet sent anywhere: only the owner sees it.
		for _, u := range []string{member, stranger} {
			if code, _ := mt.Do(t, e.files, u, "GET", "/v1/files/"+fc.File.ID, "", nil); code != 404 {
				t.Fatalf("unsent file for %s: %d", u, code)
			}
		}
		msg, _, err := e.send.Send(context.Background(), events.SendCommand{UserID: owner, ConversationID: conv,
			SendMessage: events.SendMessage{ClientMsgID: "img-1", Type: events.MessageImage, FileID: fc.File.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if msg.File == nil || msg.File.ID != fc.File.ID || msg.File.Status != events.FileReady ||
			msg.File.ContentType != "image/png" || msg.File.Filename != "photo.png" || msg.File.Size != int64(len(img)) {
			t.Fatalf("message file: %+v", msg.File)
		}

		if code, raw := mt.Do(t, e.files, member, "GET", "/v1/files/"+fc.File.ID, "", &got); code != 200 || got.Download == nil || got.Thumbnail == nil {
			t.Fatalf("member get: %d %s", code, raw)
		}
		code, body := fetch(t, got.Download.URL)
		if code != 200 || !bytes.Equal(body, img) {
			t.Fatalf("download: %d, %d bytes, equal %v", code, len(body), bytes.Equal(body, img))
		}
		code, body = fetch(t, got.Thumbnail.URL)
		if code != 200 {
			t.Fatalf("thumbnail: %d", code)
		}
		th, format, err := image.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("thumbnail decode: %v", err)
		}
		if b := th.Bounds(); format != "png" || b.Dx() != 256 || b.Dy() != 192 {
			t.Fatalf("thumbnail %s %v", format, b)
		}
		if code, _ := mt.Do(t, e.files, stranger, "GET", "/v1/files/"+fc.File.ID, "", nil); code != 404 {
			t.Fatalf("stranger: %d", code)
		}
		if code, _ := mt.Do(t, e.files, owner, "GET", "/v1/files/"+mt.Users(t, e.pool, 1)[0], "", nil); code != 404 {
			t.Fatalf("missing file: %d", code)
		}

		// Redelivering the same notification changes nothing.
		key := e.objectKey(t, fc.File.ID)
		ds := e.deliveries(key)
		if len(ds) != 1 || ds[0].status != 200 {
			t.Fatalf("deliveries of %s: %+v", key, ds)
		}
		var before time.Time
		_ = e.pool.QueryRow(context.Background(), `SELECT verified_at FROM files WHERE id = $1`, fc.File.ID).Scan(&before)
		for range 2 {
			if code := post(e.upload, ds[0].event); code != 200 {
				t.Fatalf("redelivery: %d", code)
			}
		}
		var after time.Time
		_ = e.pool.QueryRow(context.Background(), `SELECT verified_at FROM files WHERE id = $1`, fc.File.ID).Scan(&after)
		if n := e.facts(events.TypeFileUploaded, fc.File.ID); n != 1 || !after.Equal(before) {
			t.Fatalf("after redelivery: %d facts, verified_at %v -> %v", n, before, after)
		}
	})

	t.Run("bytes that do not match the declared type are rejected and deleted", func(t *testing.T) {
		data := []byte("MZ\x90\x00 this is not a png at all, it is something else entirely")
		fc := e.createFile(t, owner, "cat.png", "image/png", len(data))
		if code := put(t, fc.Upload, data); code != 200 {
			t.Fatalf("put: %d", code)
		}
		if status, _ := e.waitStatus(t, fc.File.ID); status != events.FileRejected {
			t.Fatalf("status %s", status)
		}
		e.assertRejected(t, fc.File.ID, upload.ReasonContentMismatch)
		// A rejected file cannot be sent.
		if _, _, err := e.send.Send(context.Background(), events.SendCommand{UserID: owner, ConversationID: conv,
			SendMessage: events.SendMessage{ClientMsgID: "bad-1", Type: events.MessageImage, FileID: fc.File.ID}}); err == nil {
			t.Fatal("sent a rejected file")
		}
	})

	t.Run("an upload bigger than declared is rejected", func(t *testing.T) {
		img := testPNG(t, 64, 64)
		fc := e.createFile(t, owner, "small.png", "image/png", 100)
		if code := put(t, fc.Upload, img); code != 200 {
			t.Fatalf("put: %d", code)
		}
		if status, _ := e.waitStatus(t, fc.File.ID); status != events.FileRejected {
			t.Fatalf("status %s", status)
		}
		e.assertRejected(t, fc.File.ID, upload.ReasonTooLarge)
	})

	t.Run("presign validation", func(t *testing.T) {
		cases := []struct {
			body string
			code int
		}{
			{`{"filename":"big.bin","content_type":"application/pdf","size":1048577}`, 413},
			{`{"filename":"a.exe","content_type":"application/x-msdownload","size":10}`, 415},
			{`{"filename":"a.html","content_type":"text/html","size":10}`, 415},
			{`{"filename":"../etc/passwd","content_type":"text/plain","size":10}`, 400},
			{`{"filename":"a\u0000b","content_type":"text/plain","size":10}`, 400},
			{`{"filename":"","content_type":"text/plain","size":10}`, 400},
			{`{"filename":"a.txt","content_type":"text/plain","size":0}`, 400},
			{`{"filename":"a.txt","content_type":"","size":10}`, 400},
			{`{"filename":"notes.txt","content_type":"text/plain; charset=utf-8","size":10}`, 201},
			{`{"filename":"voice.m4a","content_type":"audio/x-m4a","size":10}`, 201},
		}
		for _, c := range cases {
			var fc events.FileCreated
			code, raw := mt.Do(t, e.files, owner, "POST", "/v1/files", c.body, &fc)
			if code != c.code {
				t.Errorf("%s: %d %s, want %d", c.body, code, raw, c.code)
			}
			if code == 201 && fc.File.ContentType != fc.Upload.Headers["Content-Type"] {
				t.Errorf("%s: stored %q signed %q", c.body, fc.File.ContentType, fc.Upload.Headers["Content-Type"])
			}
		}
	})

	t.Run("expired presigned URLs are refused", func(t *testing.T) {
		cfg := e.gw.Config(bucket)
		cfg.PresignExpiry = time.Second
		short := files.New(files.Config{}, files.Deps{Pool: e.pool, S3: e.gw.Client(t, cfg), Log: mt.Log()})
		data := []byte("hello, world\n")
		fc, err := short.Create(context.Background(), owner, events.CreateFileRequest{Filename: "a.txt", ContentType: "text/plain", Size: int64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		// A download URL of an existing object, made with the same short expiry.
		if code := put(t, e.createFile(t, owner, "b.txt", "text/plain", len(data)).Upload, data); code != 200 {
			t.Fatalf("put: %d", code)
		}
		time.Sleep(2500 * time.Millisecond)
		if code := put(t, fc.Upload, data); code != http.StatusForbidden {
			t.Fatalf("expired upload URL: %d, want 403", code)
		}
		var key string
		_ = e.pool.QueryRow(context.Background(), `SELECT object_key FROM files WHERE owner_id = $1 AND filename = 'b.txt'`, owner).Scan(&key)
		cli := e.gw.Client(t, cfg)
		dl, err := cli.PresignGet(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := fetch(t, dl.URL); code != 200 {
			t.Fatalf("fresh download URL: %d", code)
		}
		time.Sleep(2500 * time.Millisecond)
		if code, _ := fetch(t, dl.URL); code != http.StatusForbidden {
			t.Fatalf("expired download URL: %d, want 403", code)
		}
	})

	t.Run("test events, unknown keys and other records", func(t *testing.T) {
		// versitygw's own start-up test event went through the relay.
		if ds := e.deliveries("(test event)"); len(ds) == 0 || ds[0].status != 200 {
			t.Fatalf("test event deliveries: %+v", ds)
		}
		rec := func(v string) event.Event {
			return events.WrapRecord("parley", "s3-events", "s3.events", 0, 99, events.Record{Value: []byte(v)}, time.Now())
		}
		unknown := `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"parley-files"},"object":{"key":"u/x/nope","size":3}}}]}`
		deleted := `{"Records":[{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"parley-files"},"object":{"key":"u/x/nope"}}}]}`
		for _, c := range []struct {
			data string
			code int
		}{{`{"Service":"S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00Z","Bucket":"Test-Bucket"}`, 200},
			{unknown, 200}, {deleted, 200}, {`not json`, 400}} {
			if code := post(e.upload, rec(c.data)); code != c.code {
				t.Errorf("%s: %d, want %d", c.data, code, c.code)
			}
		}
	})
}

func (e *env) assertRejected(t *testing.T, id, reason string) {
	t.Helper()
	var got string
	if err := e.pool.QueryRow(context.Background(), `SELECT reject_reason FROM files WHERE id = $1`, id).Scan(&got); err != nil || got != reason {
		t.Fatalf("reject_reason %q %v, want %q", got, err, reason)
	}
	key := e.objectKey(t, id)
	// The row turns rejected when its transaction commits; the object is deleted right after.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := e.s3.Head(context.Background(), key)
		if s3.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("object %s still there: %v", key, err)
		}
	}
	facts := e.pub.Published(events.TypeFileRejected)
	n := 0
	for _, ev := range facts {
		var f events.FileFact
		if json.Unmarshal(ev.Data(), &f) == nil && f.File.ID == id {
			n++
			if f.Reason != reason || f.File.Status != events.FileRejected || ev.Subject() == "" {
				t.Fatalf("fact: %+v subject %q", f, ev.Subject())
			}
		}
	}
	if n != 1 {
		t.Fatalf("im.file.rejected facts: %d", n)
	}
	// Redelivery: still one fact, object still gone.
	for _, d := range e.deliveries(key) {
		if code := post(e.upload, d.event); code != 200 {
			t.Fatalf("redelivery: %d", code)
		}
	}
	if n := e.facts(events.TypeFileRejected, id); n != 1 {
		t.Fatalf("after redelivery: %d facts", n)
	}
}
