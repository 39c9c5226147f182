//go:build e2e

package e2e

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/events"
)

// webPushService stands in for a browser vendor's push service (RFC 8030) on loopback TLS, signed
// by the run's push CA the platform trusts. Independently of the platform's code it verifies the
// VAPID header (RFC 8292: an ES256 JWT over the published key, aud = its origin, exp within 24 h)
// and decrypts each push with the subscription's private key (RFC 8291 aes128gcm), as a browser
// does. /push/<sub> of a sub named gone-* answers 410.
type webPushService struct {
	t     *testing.T
	url   string
	vapid string

	mu   sync.Mutex
	subs map[string]*browserSub
	got  map[string][]pushed // by sub
	errs []error
}

type browserSub struct {
	priv *ecdh.PrivateKey
	auth []byte
}

type pushed struct {
	msg     events.PushMessage
	urgency string
	ttl     string
}

func newWebPushService(t *testing.T, vapid string) *webPushService {
	t.Helper()
	if sys.pushCA == nil {
		t.Skip("the push scenarios need the platform this suite starts (its push function trusts the run's CA)")
	}
	ps := &webPushService{t: t, vapid: vapid, subs: map[string]*browserSub{}, got: map[string][]pushed{}}
	srv, err := sys.pushCA.server(http.HandlerFunc(ps.serve))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ps.url = srv.URL
	return ps
}

// subscribe makes a browser subscription for sub and registers it as u's device.
func (ps *webPushService) subscribe(t *testing.T, u *user, sub string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &browserSub{priv: k, auth: make([]byte, 16)}
	_, _ = rand.Read(s.auth)
	ps.mu.Lock()
	ps.subs[sub] = s
	ps.mu.Unlock()
	_, created, err := u.RegisterDevice(timeout(t, 10*time.Second), events.RegisterDeviceRequest{DeviceID: "browser-" + sub,
		Platform: events.PlatformWebPush, Subscription: &events.WebPushSubscription{Endpoint: ps.url + "/push/" + sub,
			Keys: events.WebPushKeys{P256dh: base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
				Auth: base64.RawURLEncoding.EncodeToString(s.auth)}}})
	if err != nil || !created {
		t.Fatalf("register %s: created %v, %v", sub, created, err)
	}
}

func (ps *webPushService) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	id, _ := strings.CutPrefix(r.URL.Path, "/push/")
	s := ps.subs[id]
	fail := func(err error) {
		ps.errs = append(ps.errs, fmt.Errorf("push to %s: %w", id, err))
		http.Error(w, "refused", http.StatusBadRequest)
	}
	if s == nil || r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm" {
		fail(fmt.Errorf("%s %s %v", r.Method, r.URL.Path, r.Header))
		return
	}
	if err := checkVAPID(r.Header.Get("Authorization"), ps.vapid, ps.url); err != nil {
		fail(err)
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := decryptPush(body, s.priv, s.auth)
	if err != nil {
		fail(err)
		return
	}
	var m events.PushMessage
	if err := json.Unmarshal(plain, &m); err != nil {
		fail(err)
		return
	}
	if strings.HasPrefix(id, "gone") {
		w.WriteHeader(http.StatusGone)
		return
	}
	ps.got[id] = append(ps.got[id], pushed{msg: m, urgency: r.Header.Get("Urgency"), ttl: r.Header.Get("TTL")})
	w.WriteHeader(http.StatusCreated)
}

// pushesFor waits up to d for sub's pushes to number want, then returns them (and fails on any
// check the stand-in failed).
func (ps *webPushService) pushesFor(t *testing.T, sub string, want int, d time.Duration) []pushed {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ps.mu.Lock()
		got, errs := slices.Clone(ps.got[sub]), ps.errs
		ps.errs = nil
		ps.mu.Unlock()
		for _, err := range errs {
			t.Error(err)
		}
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkVAPID verifies "vapid t=<jwt>, k=<key>" with crypto/ecdsa alone.
func checkVAPID(h, key, origin string) error {
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
	if k != key {
		return fmt.Errorf("vapid k %q is not the published key %q", k, key)
	}
	raw, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || len(raw) != 65 {
		return fmt.Errorf("vapid k: %v", err)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(raw[1:33]), Y: new(big.Int).SetBytes(raw[33:])}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("vapid t is not a compact JWS")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("vapid t: not an ES256 signature")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("vapid t: bad signature")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil || hdr.Alg != "ES256" {
		return fmt.Errorf("vapid t: header %s claims %s", hb, cb)
	}
	exp := time.Unix(claims.Exp, 0)
	if claims.Aud != origin || exp.Before(time.Now()) || exp.After(time.Now().Add(24*time.Hour)) || claims.Sub == "" {
		return fmt.Errorf("vapid claims %s (origin %s)", cb, origin)
	}
	return nil
}

// decryptPush opens an aes128gcm body (RFC 8188) with the keys RFC 8291 derives.
func decryptPush(body []byte, priv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("aes128gcm: short header")
	}
	salt, idlen := body[:16], int(body[20])
	if binary.BigEndian.Uint32(body[16:20]) < 18 || len(body) < 21+idlen {
		return nil, errors.New("aes128gcm: bad header")
	}
	asRaw, ct := body[21:21+idlen], body[21+idlen:]
	asPub, err := ecdh.P256().NewPublicKey(asRaw)
	if err != nil {
		return nil, err
	}
	shared, err := priv.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	prkKey, _ := hkdf.Extract(sha256.New, shared, auth)
	ikm, _ := hkdf.Expand(sha256.New, prkKey, "WebPush: info\x00"+string(priv.PublicKey().Bytes())+string(asRaw), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, err
	}
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 0x02 {
		return nil, errors.New("aes128gcm: no last-record delimiter")
	}
	return plain[:len(plain)-1], nil
}

// Push through the public API (API.md "Push"): members without a live connection get a Web Push on
// their devices, the sender and connected members do not, a muted member does not (mute set through
// the settings route), a device its push service reports gone disappears from the owner's list;
// devices and the VAPID key answer as documented.
func TestPushToOfflineDevices(t *testing.T) {
	ctx := timeout(t, 90*time.Second)
	owner, offline, online, muted, gone := newUser(t), newUser(t), newUser(t), newUser(t), newUser(t)
	key, err := offline.VAPIDKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := online.VAPIDKey(ctx); again != key {
		t.Fatalf("the VAPID key differs between calls: %q %q", key, again)
	}
	ps := newWebPushService(t, key)
	conv := group(t, owner, offline, online, muted, gone)
	for _, s := range []struct {
		u   *user
		sub string
	}{{owner, "owner"}, {offline, "offline"}, {online, "online"}, {muted, "muted"}, {gone, "gone-1"}} {
		ps.subscribe(t, s.u, s.sub)
	}
	if _, err := muted.SetMute(ctx, conv.ID, &events.MuteForever); err != nil {
		t.Fatal(err)
	}
	// Connected members (the owner too, who sends) get the message on their socket instead.
	onlineConn := online.dial(t, 0)
	owner.dial(t, 1)
	// The edge writes a connection's presence lease just after hello: wait until it shows.
	awaitPresence(t, owner, online, true)

	m, err := owner.SendMessage(ctx, conv.ID, text("push me"))
	if err != nil {
		t.Fatal(err)
	}
	got := ps.pushesFor(t, "offline", 1, 20*time.Second)
	if len(got) != 1 {
		t.Fatalf("the offline member got %d pushes, want 1", len(got))
	}
	want := events.PushMessage{V: 1, Type: "message", ConversationID: conv.ID, ConversationType: "group", MessageID: m.ID,
		Seq: m.Seq, SenderID: owner.UserID()}
	if got[0].msg != want || got[0].urgency != "normal" || got[0].ttl != "86400" {
		t.Fatalf("push %+v urgency %s ttl %s, want %+v (no content by default)", got[0].msg, got[0].urgency, got[0].ttl, want)
	}
	if _, err := onlineConn.Await(ctx, func(f events.Frame) bool { return f.Type == events.FrameMessage }); err != nil {
		t.Fatalf("the online member's socket: %v", err)
	}
	// The gone subscription is forgotten.
	deadline := time.Now().Add(20 * time.Second)
	for {
		devs, err := gone.Devices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(devs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gone device is still listed: %+v", devs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Nobody else was pushed (the pushes of one message go out together: the offline one arrived).
	time.Sleep(500 * time.Millisecond)
	for _, sub := range []string{"owner", "online", "muted"} {
		if n := len(ps.pushesFor(t, sub, 0, 0)); n != 0 {
			t.Errorf("%s got %d pushes, want none", sub, n)
		}
	}
	// Unmuted and disconnected, the next message reaches both.
	if s, err := muted.SetMute(ctx, conv.ID, nil); err != nil || s.MutedUntil != nil {
		t.Fatalf("unmute: %+v %v", s, err)
	}
	_ = onlineConn.Close()
	awaitPresence(t, owner, online, false)
	before := map[string]int{}
	for _, sub := range []string{"offline", "online", "muted"} {
		before[sub] = len(ps.pushesFor(t, sub, 0, 0))
	}
	if _, err := owner.SendMessage(ctx, conv.ID, text("again")); err != nil {
		t.Fatal(err)
	}
	for sub, n := range before {
		if got := len(ps.pushesFor(t, sub, n+1, 20*time.Second)); got != n+1 {
			t.Errorf("%s: %d pushes after the second message, want %d", sub, got, n+1)
		}
	}
}

// awaitPresence waits until viewer sees u's presence as online.
func awaitPresence(t *testing.T, viewer, u *user, online bool) {
	t.Helper()
	ctx := timeout(t, 15*time.Second)
	for {
		p, err := viewer.Presence(ctx, u.UserID())
		if err == nil && len(p) == 1 && p[0].Online == online {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never showed online=%v: %+v %v", u.name, online, p, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Push devices through the public API: validation, replace, the per-user cap, delete.
func TestPushDeviceRoutes(t *testing.T) {
	ctx := timeout(t, 30*time.Second)
	u := newUser(t)
	_, _, err := u.RegisterDevice(ctx, events.RegisterDeviceRequest{DeviceID: "x", Platform: events.PlatformWebPush})
	expectCode(t, "webpush without subscription", err, events.CodeInvalidArgument)
	_, _, err = u.RegisterDevice(ctx, events.RegisterDeviceRequest{DeviceID: "x", Platform: events.PlatformFCM})
	expectCode(t, "fcm without token", err, events.CodeInvalidArgument)
	for i := range 20 {
		if _, created, err := u.RegisterDevice(ctx, events.RegisterDeviceRequest{DeviceID: fmt.Sprint("d", i), Platform: events.PlatformAPNs,
			Token: fmt.Sprint("tok", i)}); err != nil || !created {
			t.Fatalf("device %d: %v", i, err)
		}
	}
	_, _, err = u.RegisterDevice(ctx, events.RegisterDeviceRequest{DeviceID: "d20", Platform: events.PlatformFCM, Token: "t"})
	expectCode(t, "21st device", err, events.CodeLimitExceeded)
	if d, created, err := u.RegisterDevice(ctx, events.RegisterDeviceRequest{DeviceID: "d0", Platform: events.PlatformFCM, Token: "new"}); err != nil ||
		created || d.Platform != events.PlatformFCM {
		t.Fatalf("replace: %+v %v %v", d, created, err)
	}
	if err := u.DeleteDevice(ctx, "d0"); err != nil {
		t.Fatal(err)
	}
	if err := u.DeleteDevice(ctx, "d0"); err != nil {
		t.Fatalf("delete again: %v", err)
	}
	if devs, err := u.Devices(ctx); err != nil || len(devs) != 19 {
		t.Fatalf("devices: %d %v", len(devs), err)
	}
}

// A muted member is still pushed when a message mentions them (mentions or mention_all), with
// Urgency high and mentioned true; the other muted member only for mention_all.
func TestPushMentionedWhileMuted(t *testing.T) {
	ctx := timeout(t, 60*time.Second)
	owner, named, other := newUser(t), newUser(t), newUser(t)
	key, err := owner.VAPIDKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps := newWebPushService(t, key)
	conv := group(t, owner, named, other)
	ps.subscribe(t, named, "named")
	ps.subscribe(t, other, "other")
	for _, u := range []*user{named, other} {
		if _, err := u.SetMute(ctx, conv.ID, &events.MuteForever); err != nil {
			t.Fatal(err)
		}
	}
	plain := text("hello @named")
	plain.Mentions = []string{named.UserID()}
	m1, err := owner.SendMessage(ctx, conv.ID, plain)
	if err != nil {
		t.Fatal(err)
	}
	got := ps.pushesFor(t, "named", 1, 20*time.Second)
	if len(got) != 1 || !got[0].msg.Mentioned || got[0].urgency != "high" || got[0].msg.MessageID != m1.ID {
		t.Fatalf("the mentioned muted member: %+v", got)
	}
	all := text("hello all")
	all.MentionAll = true
	if _, err := owner.SendMessage(ctx, conv.ID, all); err != nil {
		t.Fatal(err)
	}
	if got := ps.pushesFor(t, "other", 1, 20*time.Second); len(got) != 1 || !got[0].msg.Mentioned {
		t.Fatalf("mention_all to a muted member: %+v", got)
	}
	if got := ps.pushesFor(t, "named", 2, 20*time.Second); len(got) != 2 {
		t.Fatalf("mention_all to the named member: %d pushes", len(got))
	}
}
