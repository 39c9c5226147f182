package push

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// WebPush sends through browsers' push services: RFC 8030 (one POST to the subscription's endpoint),
// the payload encrypted for the subscription with RFC 8291 (aes128gcm, RFC 8188), and the
// application server identified with RFC 8292 VAPID (an ES256 JWT for the endpoint's origin plus
// the public key). The crypto is Go's standard library (crypto/ecdh, crypto/hkdf, AES-GCM); the JWT
// is go-jose's, the library the rest of Parley signs and verifies tokens with.
type WebPush struct {
	Key     VAPIDKey
	Subject string // VAPID "sub": a mailto: or https: contact of the operator
	Client  *http.Client
	signer  jose.Signer
	now     func() time.Time
}

// NewWebPush builds the Web Push provider.
func NewWebPush(key VAPIDKey, subject string, client *http.Client) (*WebPush, error) {
	if key.Private == nil || subject == "" {
		return nil, errors.New("webpush: a VAPID key and subject are required")
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.Private}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &WebPush{Key: key, Subject: subject, Client: client, signer: s, now: time.Now}, nil
}

// recordSize is the rs of the one aes128gcm record a push carries; a payload must fit in it with
// its delimiter and tag (push services accept at least 4096 bytes of body).
const recordSize = 4096

// Send implements Provider.
func (w *WebPush) Send(ctx context.Context, d Device, n Notification) error {
	plain, err := json.Marshal(n.Message)
	if err != nil {
		return err
	}
	body, err := Encrypt(plain, d.P256dh, d.Auth)
	if err != nil {
		return fmt.Errorf("webpush: %w", err)
	}
	u, err := url.Parse(d.Endpoint)
	if err != nil {
		return fmt.Errorf("webpush: endpoint: %w", err)
	}
	auth, err := w.vapid(u.Scheme + "://" + u.Host)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	urgency := "normal"
	if n.Urgent {
		urgency = "high"
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", strconv.Itoa(int(n.TTL.Seconds())))
	req.Header.Set("Urgency", urgency)
	req.Header.Set("Authorization", auth)
	resp, err := w.Client.Do(req)
	if err != nil {
		return &RetryError{Err: err}
	}
	defer resp.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return statusError(resp, string(detail), w.now())
}

// vapid is the Authorization header of RFC 8292: "vapid t=<JWT>, k=<public key>". The JWT's aud is
// the push service's origin; exp at most 24 h ahead (12 h here, so a skewed clock stays inside).
func (w *WebPush) vapid(audience string) (string, error) {
	now := w.now()
	tok, err := jwt.Signed(w.signer).Claims(jwt.Claims{
		Audience: jwt.Audience{audience},
		Expiry:   jwt.NewNumericDate(now.Add(12 * time.Hour)),
		Subject:  w.Subject,
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("webpush: vapid jwt: %w", err)
	}
	return "vapid t=" + tok + ", k=" + w.Key.Public, nil
}

// Encrypt encrypts plain for a subscription (RFC 8291 section 3, RFC 8188 aes128gcm with one
// record): a fresh ECDH key pair of the application server per message, the shared secret mixed
// with the subscription's auth secret, and the header salt || rs || idlen || as_public.
func Encrypt(plain []byte, p256dh, authSecret string) ([]byte, error) {
	uaRaw, err := base64.RawURLEncoding.DecodeString(p256dh)
	if err != nil {
		return nil, fmt.Errorf("p256dh: %w", err)
	}
	auth, err := base64.RawURLEncoding.DecodeString(authSecret)
	if err != nil || len(auth) != 16 {
		return nil, errors.New("auth: must be 16 bytes")
	}
	if len(plain)+1+16 > recordSize {
		return nil, fmt.Errorf("payload of %d bytes does not fit one %d-byte record", len(plain), recordSize)
	}
	uaPub, err := ecdh.P256().NewPublicKey(uaRaw)
	if err != nil {
		return nil, fmt.Errorf("p256dh: %w", err)
	}
	asPriv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	cek, nonce, err := contentKeys(asPriv, uaPub, uaRaw, asPriv.PublicKey().Bytes(), auth, salt)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(cek)
	if err != nil {
		return nil, err
	}
	asPub := asPriv.PublicKey().Bytes()
	out := make([]byte, 0, 16+4+1+len(asPub)+len(plain)+1+gcm.Overhead())
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, recordSize)
	out = append(out, byte(len(asPub)))
	out = append(out, asPub...)
	// The last (only) record ends with the 0x02 delimiter and no padding.
	return gcm.Seal(out, nonce, append(plain, 0x02), nil), nil
}

// Decrypt reverses Encrypt with the subscription's private key: what a browser (and the tests'
// push-service stand-in) does with a push.
func Decrypt(body []byte, uaPriv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("aes128gcm: header too short")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || rs < 18 {
		return nil, errors.New("aes128gcm: bad header")
	}
	asRaw, ct := body[21:21+idlen], body[21+idlen:]
	if uint32(len(ct)) > rs {
		return nil, errors.New("aes128gcm: more than one record")
	}
	asPub, err := ecdh.P256().NewPublicKey(asRaw)
	if err != nil {
		return nil, fmt.Errorf("aes128gcm: keyid: %w", err)
	}
	cek, nonce, err := contentKeys(uaPriv, asPub, uaPriv.PublicKey().Bytes(), asRaw, auth, salt)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(cek)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("aes128gcm: %w", err)
	}
	i := bytes.LastIndexFunc(plain, func(r rune) bool { return r != 0 })
	if i < 0 || plain[i] != 0x02 {
		return nil, errors.New("aes128gcm: missing last-record delimiter")
	}
	return plain[:i], nil
}

// contentKeys derives the content-encryption key and nonce (RFC 8291 section 3.4, RFC 8188 2.2):
// priv/peer are this side's private key and the other side's public key; uaPub/asPub the raw
// points in the order the key_info names them.
func contentKeys(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, uaPub, asPub, auth, salt []byte) (cek, nonce []byte, err error) {
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, nil, err
	}
	prkKey, err := hkdf.Extract(sha256.New, shared, auth)
	if err != nil {
		return nil, nil, err
	}
	keyInfo := "WebPush: info\x00" + string(uaPub) + string(asPub)
	ikm, err := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	if err != nil {
		return nil, nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, err
	}
	if cek, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16); err != nil {
		return nil, nil, err
	}
	nonce, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	return cek, nonce, err
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
