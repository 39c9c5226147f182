package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/parley-im/parley/events"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/push"
)

// standIn is a local HTTP/2 TLS server that stands in for FCM (its OAuth2 token endpoint and
// messages:send) or APNs, checks each request as the real service documents it, and records what
// it accepted. Its checks' failures are collected in errs.
type standIn struct {
	srv  *httptest.Server
	mu   sync.Mutex
	errs []error
	got  []map[string]any // accepted pushes: the decoded body plus "_token" and "_headers"
	hits map[string]int
}

func newStandIn(t *testing.T, h func(s *standIn, w http.ResponseWriter, r *http.Request)) *standIn {
	s := &standIn{hits: map[string]int{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits[r.URL.Path]++
		if r.ProtoMajor != 2 {
			s.errs = append(s.errs, fmt.Errorf("%s over %s, want HTTP/2", r.URL.Path, r.Proto))
		}
		h(s, w, r)
	}))
	s.srv.EnableHTTP2 = true
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) failf(format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf(format, args...))
}

func (s *standIn) check(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range s.errs {
		t.Error(err)
	}
	out := s.got
	s.got, s.errs = nil, nil
	return out
}

func pemPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// FCM HTTP v1: the service account's JWT assertion (RS256, iss/scope/aud, kid) is exchanged for an
// access token once and reused; each push is one messages:send with the Bearer token, the data as
// strings, android priority and ttl; UNREGISTERED deletes the device.
func TestFCMProvider(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var tokenURL string
	fcm := newStandIn(t, func(s *standIn, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			_ = r.ParseForm()
			if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
				s.failf("grant_type %q", r.Form.Get("grant_type"))
			}
			tok, err := jwt.ParseSigned(r.Form.Get("assertion"), []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				s.failf("assertion: %v", err)
				http.Error(w, "bad", 400)
				return
			}
			var c struct {
				jwt.Claims
				Scope string `json:"scope"`
			}
			if err := tok.Claims(&rsaKey.PublicKey, &c); err != nil {
				s.failf("assertion signature: %v", err)
			}
			if c.Issuer != "pusher@proj.iam.gserviceaccount.com" || c.Scope != "https://www.googleapis.com/auth/firebase.messaging" ||
				!slices.Equal([]string(c.Audience), []string{tokenURL}) || c.Expiry == nil || tok.Headers[0].KeyID != "key-1" {
				s.failf("assertion claims %+v kid %q", c, tok.Headers[0].KeyID)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"at-1","token_type":"Bearer","expires_in":3600}`)
		case r.URL.Path == "/v1/projects/proj/messages:send" && r.Method == http.MethodPost:
			if r.Header.Get("Authorization") != "Bearer at-1" {
				s.failf("authorization %q", r.Header.Get("Authorization"))
			}
			var body struct {
				Message struct {
					Token   string            `json:"token"`
					Data    map[string]string `json:"data"`
					Android map[string]string `json:"android"`
				} `json:"message"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				s.failf("body: %v", err)
			}
			if body.Message.Token == "gone-token" {
				w.WriteHeader(404)
				_, _ = io.WriteString(w, `{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`)
				return
			}
			got := map[string]any{"_token": body.Message.Token, "priority": body.Message.Android["priority"], "ttl": body.Message.Android["ttl"]}
			for k, v := range body.Message.Data {
				got[k] = v
			}
			s.got = append(s.got, got)
			_, _ = io.WriteString(w, `{"name":"projects/proj/messages/1"}`)
		default:
			s.failf("unexpected %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
		}
	})
	tokenURL = fcm.srv.URL + "/token"
	sa, _ := json.Marshal(push.ServiceAccount{ProjectID: "proj", PrivateKeyID: "key-1", PrivateKey: string(pemPKCS8(t, rsaKey)),
		ClientEmail: "pusher@proj.iam.gserviceaccount.com", TokenURI: tokenURL})
	p, err := push.NewFCM(sa, fcm.srv.URL, fcm.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, push.Config{}, map[string]push.Provider{events.PlatformFCM: p})
	u := mt.Users(t, e.pool, 3)
	conv := mt.Group(t, e.pool, u...)
	mt.Do(t, e.h, u[1], "POST", "/v1/push/devices", `{"device_id":"phone","platform":"fcm","token":"ok-token"}`, nil)
	mt.Do(t, e.h, u[2], "POST", "/v1/push/devices", `{"device_id":"old","platform":"fcm","token":"gone-token"}`, nil)
	m := message(conv, u[0], 1)
	m.Mentions = []string{u[1]}
	e.deliver(m)
	e.deliver(message(conv, u[0], 2))
	got := fcm.check(t)
	if len(got) != 2 {
		t.Fatalf("FCM got %d pushes, want 2", len(got))
	}
	want := map[string]any{"_token": "ok-token", "priority": "high", "ttl": "86400s", "v": "1", "type": "message",
		"conversation_id": conv, "conversation_type": "group", "message_id": m.ID, "seq": "1", "sender_id": u[0], "mentioned": "true"}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("FCM %s = %v, want %v", k, got[0][k], v)
		}
	}
	if got[1]["priority"] != "normal" || got[1]["mentioned"] != "false" || got[1]["title"] != nil {
		t.Errorf("second push: %v", got[1])
	}
	if fcm.hits["/token"] != 1 {
		t.Errorf("the access token was fetched %d times, want once", fcm.hits["/token"])
	}
	var n int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM push_devices WHERE user_id = $1`, u[2]).Scan(&n)
	if n != 0 {
		t.Fatal("the UNREGISTERED device was not deleted")
	}
}

// APNs: HTTP/2 POST /3/device/<token> with the provider JWT (ES256, kid, iss = team, iat), topic,
// push type, priority and expiration; aps beside the message's keys; 410 and BadDeviceToken delete.
func TestAPNsProvider(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	apns := newStandIn(t, func(s *standIn, w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
		if r.Method != http.MethodPost || !ok {
			s.failf("unexpected %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		auth, _ := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
		tok, err := jwt.ParseSigned(auth, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			s.failf("provider token: %v", err)
			w.WriteHeader(403)
			_, _ = io.WriteString(w, `{"reason":"InvalidProviderToken"}`)
			return
		}
		var c jwt.Claims
		if err := tok.Claims(&key.PublicKey, &c); err != nil || c.Issuer != "TEAM123456" || c.IssuedAt == nil ||
			time.Since(c.IssuedAt.Time()) > time.Minute || tok.Headers[0].KeyID != "KEY1234567" {
			s.failf("provider token claims %+v kid %q: %v", c, tok.Headers[0].KeyID, err)
		}
		exp, _ := strconv.ParseInt(r.Header.Get("apns-expiration"), 10, 64)
		if r.Header.Get("apns-topic") != "im.parley.app" || r.Header.Get("apns-push-type") != "alert" ||
			exp < time.Now().Add(86390*time.Second).Unix() || exp > time.Now().Add(86410*time.Second).Unix() {
			s.failf("headers %v", r.Header)
		}
		switch token {
		case "gone":
			w.WriteHeader(410)
			_, _ = io.WriteString(w, `{"reason":"Unregistered","timestamp":1700000000000}`)
			return
		case "bad":
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"reason":"BadDeviceToken"}`)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			s.failf("body: %v", err)
		}
		body["_token"], body["_priority"] = token, r.Header.Get("apns-priority")
		s.got = append(s.got, body)
		w.Header().Set("apns-id", "6f0c2b1e-0000-0000-0000-000000000000")
		w.WriteHeader(200)
	})
	pool := x509.NewCertPool()
	pool.AddCert(apns.srv.Certificate())
	p, err := push.NewAPNs(push.APNsConfig{KeyP8: pemPKCS8(t, key), KeyID: "KEY1234567", TeamID: "TEAM123456",
		Topic: "im.parley.app", Endpoint: apns.srv.URL, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, push.Config{IncludeContent: true}, map[string]push.Provider{events.PlatformAPNs: p})
	u := mt.Users(t, e.pool, 4)
	conv := mt.Group(t, e.pool, u...)
	mt.Do(t, e.h, u[1], "POST", "/v1/push/devices", `{"device_id":"iphone","platform":"apns","token":"abc123"}`, nil)
	mt.Do(t, e.h, u[2], "POST", "/v1/push/devices", `{"device_id":"old","platform":"apns","token":"gone"}`, nil)
	mt.Do(t, e.h, u[3], "POST", "/v1/push/devices", `{"device_id":"wrong","platform":"apns","token":"bad"}`, nil)
	m := message(conv, u[0], 1)
	m.MentionAll = true
	e.deliver(m)
	got := apns.check(t)
	if len(got) != 1 {
		t.Fatalf("APNs got %d pushes, want 1", len(got))
	}
	b := got[0]
	aps, _ := b["aps"].(map[string]any)
	alert, _ := aps["alert"].(map[string]any)
	if b["_token"] != "abc123" || b["_priority"] != "10" || b["message_id"] != m.ID || b["mentioned"] != true || b["seq"] != 1.0 ||
		aps["mutable-content"] != 1.0 || aps["thread-id"] != conv || alert["title"] != "g" || alert["body"] != "hello there" {
		t.Fatalf("APNs push: %v", b)
	}
	var n int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM push_devices WHERE user_id = ANY($1)`, []string{u[2], u[3]}).Scan(&n)
	if n != 0 {
		t.Fatalf("%d gone or invalid devices left", n)
	}

	// Without PUSH_INCLUDE_CONTENT: a generic alert, normal priority, no title or body anywhere.
	e2 := newEnv(t, push.Config{}, map[string]push.Provider{events.PlatformAPNs: p})
	v := mt.Users(t, e2.pool, 2)
	conv2 := mt.Group(t, e2.pool, v...)
	mt.Do(t, e2.h, v[1], "POST", "/v1/push/devices", `{"device_id":"iphone","platform":"apns","token":"def456"}`, nil)
	e2.deliver(message(conv2, v[0], 1))
	got = apns.check(t)
	if len(got) != 1 {
		t.Fatalf("APNs got %d pushes, want 1", len(got))
	}
	aps, _ = got[0]["aps"].(map[string]any)
	if aps["alert"] != "New message" || got[0]["_priority"] != "5" || got[0]["title"] != nil || got[0]["body"] != nil || got[0]["mentioned"] != false {
		t.Fatalf("APNs push without content: %v", got[0])
	}
}
