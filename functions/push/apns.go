package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// APNs sends through Apple's provider API with token-based authentication: HTTP/2 POST
// /3/device/<token>, authorized by an ES256 JWT signed with the team's .p8 key (iss = team id,
// kid = key id). The JWT is reused for apnsTokenAge, as Apple asks (refreshing more than every 20
// minutes is refused, older than an hour expired). HTTP/2 is net/http's own (ForceAttemptHTTP2 on a
// custom TLS config); the JWT is go-jose's.
type APNs struct {
	cfg    APNsConfig
	key    *ecdsa.PrivateKey
	client *http.Client
	now    func() time.Time

	mu     sync.Mutex
	token  string
	issued time.Time
}

// APNsConfig are the APNs credentials and where to send.
type APNsConfig struct {
	KeyP8    []byte // the .p8 file (PEM, PKCS#8 EC P-256)
	KeyID    string // the key's id (JWT kid)
	TeamID   string // the developer team (JWT iss)
	Topic    string // the app's bundle id (apns-topic)
	Endpoint string // default https://api.push.apple.com (sandbox: https://api.sandbox.push.apple.com)
	// RootCAs verifies the endpoint (nil: the system's roots).
	RootCAs *x509.CertPool
}

// apnsTokenAge is how long one provider JWT is used: between Apple's 20-minute floor and 60-minute
// expiry.
const apnsTokenAge = 50 * time.Minute

// NewAPNs builds the APNs provider and its HTTP/2 client.
func NewAPNs(cfg APNsConfig) (*APNs, error) {
	if cfg.KeyID == "" || cfg.TeamID == "" || cfg.Topic == "" {
		return nil, errors.New("apns: key id, team id and topic are required")
	}
	block, _ := pem.Decode(cfg.KeyP8)
	if block == nil {
		return nil, errors.New("apns: the .p8 key is not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("apns: .p8 key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("apns: the .p8 key is not an EC key")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "https://api.push.apple.com"
	}
	cfg.Endpoint = strings.TrimSuffix(cfg.Endpoint, "/")
	tr := &http.Transport{
		ForceAttemptHTTP2: true, // APNs speaks HTTP/2 only
		TLSClientConfig:   &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		IdleConnTimeout:   10 * time.Minute, // one long-lived connection carries every push
	}
	return &APNs{cfg: cfg, key: key, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, now: time.Now}, nil
}

// providerToken returns the cached JWT, signing a new one when it is older than apnsTokenAge or
// after APNs refused it (stale).
func (a *APNs) providerToken(stale string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if a.token != "" && a.token != stale && now.Sub(a.issued) < apnsTokenAge {
		return a.token, nil
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.key},
		(&jose.SignerOptions{}).WithHeader("kid", a.cfg.KeyID))
	if err != nil {
		return "", err
	}
	tok, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: a.cfg.TeamID, IssuedAt: jwt.NewNumericDate(now)}).Serialize()
	if err != nil {
		return "", fmt.Errorf("apns: provider token: %w", err)
	}
	a.token, a.issued = tok, now
	return tok, nil
}

// apnsPayload is the message's keys beside aps: the alert ("New message", or the title and body
// when content is included), mutable-content so a notification service extension may fetch more,
// and the conversation as thread-id so notifications group by chat.
func apnsPayload(n Notification) ([]byte, error) {
	raw, err := json.Marshal(n.Message)
	if err != nil {
		return nil, err
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	var alert any = "New message"
	if n.Message.Title != "" || n.Message.Body != "" {
		alert = map[string]string{"title": n.Message.Title, "body": n.Message.Body}
	}
	p["aps"] = map[string]any{"alert": alert, "mutable-content": 1, "thread-id": n.Message.ConversationID}
	return json.Marshal(p)
}

// Send implements Provider.
func (a *APNs) Send(ctx context.Context, d Device, n Notification) error {
	body, err := apnsPayload(n)
	if err != nil {
		return err
	}
	tok, err := a.providerToken("")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Endpoint+"/3/device/"+d.Token, bytes.NewReader(body))
	if err != nil {
		return err
	}
	priority := "5"
	if n.Urgent {
		priority = "10"
	}
	req.Header.Set("authorization", "bearer "+tok)
	req.Header.Set("apns-topic", a.cfg.Topic)
	req.Header.Set("apns-push-type", "alert")
	req.Header.Set("apns-priority", priority)
	req.Header.Set("apns-expiration", strconv.FormatInt(a.now().Add(n.TTL).Unix(), 10))
	req.Header.Set("content-type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return &RetryError{Err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	var e struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(raw, &e)
	switch {
	case resp.StatusCode == http.StatusGone, e.Reason == "BadDeviceToken", e.Reason == "Unregistered":
		// 410 Unregistered: the app is gone from the device; BadDeviceToken: the token is invalid
		// (or of the other environment). Either way this device cannot be reached.
		return fmt.Errorf("%w: apns %d %s", ErrGone, resp.StatusCode, e.Reason)
	case resp.StatusCode == http.StatusForbidden && e.Reason == "ExpiredProviderToken":
		_, _ = a.providerToken(tok) // sign a fresh one; the retry uses it
		return &RetryError{Status: resp.StatusCode, Err: errors.New(e.Reason)}
	case resp.StatusCode == http.StatusNotFound:
		// 404 is a bad path (BadPath), not a gone device, on APNs.
		return fmt.Errorf("push: apns refused: %d %s", resp.StatusCode, e.Reason)
	}
	return statusError(resp, e.Reason, a.now())
}
