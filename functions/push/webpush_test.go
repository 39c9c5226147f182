package push_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/push"
)

// subscription is a browser's side of a Web Push subscription: its key pair and auth secret.
type subscription struct {
	priv *ecdh.PrivateKey
	auth []byte
}

func newSubscription(t *testing.T) subscription {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 16)
	_, _ = rand.Read(a)
	return subscription{priv: k, auth: a}
}

// body is the POST /v1/push/devices body of this subscription at endpoint.
func (s subscription) body(deviceID, endpoint string) string {
	return fmt.Sprintf(`{"device_id":%q,"platform":"webpush","subscription":{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q}}}`,
		deviceID, endpoint, base64.RawURLEncoding.EncodeToString(s.priv.PublicKey().Bytes()),
		base64.RawURLEncoding.EncodeToString(s.auth))
}

// received is one push the stand-in accepted, decrypted.
type received struct {
	Sub     string // the subscription id of the endpoint path
	Urgency string
	TTL     string
	Message events.PushMessage
}

// pushService stands in for a browser vendor's push service (RFC 8030) on loopback TLS. It checks
// what a real one checks, the VAPID JWT (RFC 8292: ES256 over the k key, aud = its origin, exp
// within 24 h, sub present), and decrypts every body with the subscription's private key
// (RFC 8291) as the browser would. Endpoints are /push/<sub>; behaviour per sub: "gone" answers
// 410, "flaky" answers 429 with Retry-After once then 201.
type pushService struct {
	t     *testing.T
	srv   *httptest.Server
	vapid string // the expected k: GET /v1/push/vapid-public-key's answer

	mu      sync.Mutex
	subs    map[string]subscription
	got     []received
	refused int
	flaky   map[string]int
	errs    []error
}

func newPushService(t *testing.T) *pushService {
	ps := &pushService{t: t, subs: map[string]subscription{}, flaky: map[string]int{}}
	ps.srv = httptest.NewTLSServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *pushService) endpoint(sub string) string { return ps.srv.URL + "/push/" + sub }

func (ps *pushService) fail(w http.ResponseWriter, format string, args ...any) {
	ps.errs = append(ps.errs, fmt.Errorf(format, args...))
	http.Error(w, "bad request", http.StatusBadRequest)
}

func (ps *pushService) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	id, ok := strings.CutPrefix(r.URL.Path, "/push/")
	sub, known := ps.subs[id]
	if r.Method != http.MethodPost || !ok || !known {
		ps.fail(w, "unexpected %s %s", r.Method, r.URL.Path)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("TTL") == "" {
		ps.fail(w, "headers: %v", r.Header)
		return
	}
	if err := ps.checkVAPID(r.Header.Get("Authorization")); err != nil {
		ps.errs = append(ps.errs, err)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := push.Decrypt(body, sub.priv, sub.auth)
	if err != nil {
		ps.fail(w, "decrypt: %v", err)
		return
	}
	var m events.PushMessage
	if err := json.Unmarshal(plain, &m); err != nil {
		ps.fail(w, "payload %q: %v", plain, err)
		return
	}
	switch {
	case strings.HasPrefix(id, "gone"):
		ps.refused++
		w.WriteHeader(http.StatusGone)
		return
	case strings.HasPrefix(id, "flaky") && ps.flaky[id] == 0:
		ps.flaky[id]++
		ps.refused++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	ps.got = append(ps.got, received{Sub: id, Urgency: r.Header.Get("Urgency"), TTL: r.Header.Get("TTL"), Message: m})
	w.Header().Set("Location", ps.srv.URL+"/message/"+m.MessageID)
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=<jwt>, k=<key>" (RFC 8292 section 3).
func (ps *pushService) checkVAPID(h string) error {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return fmt.Errorf("authorization %q is not vapid", h)
	}
	var tok, k string
	for _, part := range strings.Split(rest, ",") {
		name, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "t":
			tok = v
		case "k":
			k = v
		}
	}
	if k != ps.vapid {
		return fmt.Errorf("vapid k %q, want the published key %q", k, ps.vapid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || len(raw) != 65 {
		return fmt.Errorf("vapid k: %v", err)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(raw[1:33]), Y: new(big.Int).SetBytes(raw[33:])}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return fmt.Errorf("vapid t: %v", err)
	}
	var c jwt.Claims
	if err := parsed.Claims(pub, &c); err != nil {
		return fmt.Errorf("vapid signature: %v", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{ps.srv.URL}, Time: time.Now()}, 0); err != nil {
		return fmt.Errorf("vapid claims: %v", err)
	}
	if c.Expiry == nil || c.Expiry.Time().After(time.Now().Add(24*time.Hour)) || !strings.HasPrefix(c.Subject, "mailto:") {
		return fmt.Errorf("vapid exp/sub: %+v", c)
	}
	return nil
}

func (ps *pushService) add(id string, s subscription) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.subs[id] = s
}

// take returns (and forgets) the pushes received so far, and fails the test on any check that failed.
func (ps *pushService) take() []received {
	ps.t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, err := range ps.errs {
		ps.t.Error(err)
	}
	ps.errs = nil
	out := ps.got
	ps.got = nil
	return out
}

// The crypto round trip alone, with a known payload of every size up to the record's limit.
func TestEncryptRoundTrip(t *testing.T) {
	s := newSubscription(t)
	p256dh := base64.RawURLEncoding.EncodeToString(s.priv.PublicKey().Bytes())
	auth := base64.RawURLEncoding.EncodeToString(s.auth)
	for _, n := range []int{0, 1, 100, 3993 - 14} {
		plain := []byte(strings.Repeat("x", n))
		ct, err := push.Encrypt(plain, p256dh, auth)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got, err := push.Decrypt(ct, s.priv, s.auth)
		if err != nil || string(got) != string(plain) {
			t.Fatalf("%d bytes: round trip %q, %v", n, got, err)
		}
		// The header: salt(16) rs(4)=4096 idlen(1)=65 keyid(65).
		if ct[20] != 65 || ct[16] != 0 || ct[17] != 0 || ct[18] != 0x10 || ct[19] != 0 {
			t.Fatalf("header %x", ct[:21])
		}
		// Another subscription's key cannot open it.
		other := newSubscription(t)
		if _, err := push.Decrypt(ct, other.priv, s.auth); err == nil {
			t.Fatal("decrypted with the wrong key")
		}
	}
	if _, err := push.Encrypt(make([]byte, 4096), p256dh, auth); err == nil {
		t.Fatal("a payload over one record was accepted")
	}
}
