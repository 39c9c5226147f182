package push_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-im/parley/events"
	mt "github.com/parley-im/parley/functions/internal/messaging/messagingtest"
	"github.com/parley-im/parley/functions/internal/sealing"
	"github.com/parley-im/parley/functions/push"
)

func TestDeviceRoutes(t *testing.T) {
	e := newEnv(t, push.Config{}, nil)
	u := mt.Users(t, e.pool, 2)
	alice, bob := u[0], u[1]
	s := newSubscription(t)
	good := s.body("browser-1", "https://push.example.net/sub/abc")
	var dr events.DeviceResponse
	if code, body := mt.Do(t, e.h, alice, "POST", "/v1/push/devices", good, &dr); code != 201 ||
		dr.Device.DeviceID != "browser-1" || dr.Device.Platform != "webpush" || dr.Device.CreatedAt.IsZero() {
		t.Fatalf("register: %d %s", code, body)
	}
	// Secrets never come back.
	if _, body := mt.Do(t, e.h, alice, "POST", "/v1/push/devices", good, nil); strings.Contains(string(body), "push.example.net") ||
		strings.Contains(string(body), "p256dh") {
		t.Fatalf("answer leaks the subscription: %s", body)
	}
	// The same device_id again: 200, replaced (now an FCM token).
	if code, _ := mt.Do(t, e.h, alice, "POST", "/v1/push/devices", `{"device_id":"browser-1","platform":"fcm","token":"tok-1"}`, &dr); code != 200 ||
		dr.Device.Platform != "fcm" {
		t.Fatalf("replace: %d %+v", code, dr)
	}
	var stored string
	_ = e.pool.QueryRow(context.Background(), `SELECT token || endpoint FROM push_devices WHERE user_id = $1`, alice).Scan(&stored)
	if stored != "tok-1" {
		t.Fatalf("replaced row holds %q", stored)
	}

	p256 := base64.RawURLEncoding.EncodeToString(s.priv.PublicKey().Bytes())
	auth := base64.RawURLEncoding.EncodeToString(s.auth)
	web := func(endpoint, p, a string) string {
		return fmt.Sprintf(`{"device_id":"d","platform":"webpush","subscription":{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q}}}`, endpoint, p, a)
	}
	bad := map[string]string{
		`{"platform":"fcm","token":"t"}`:                                                                "device_id",
		`{"device_id":"` + strings.Repeat("x", 129) + `","platform":"fcm","token":"t"}`:                 "device_id",
		`{"device_id":"d","platform":"sms","token":"t"}`:                                                "platform",
		`{"device_id":"d","token":"t"}`:                                                                 "platform",
		`{"device_id":"d","platform":"fcm"}`:                                                            "token",
		`{"device_id":"d","platform":"apns","token":"a b"}`:                                             "token",
		`{"device_id":"d","platform":"webpush"}`:                                                        "subscription",
		`{"device_id":"d","platform":"webpush","token":"t","subscription":{}}`:                          "token",
		web("http://push.example.net/x", p256, auth):                                                    "subscription.endpoint",
		web("https://push.example.net/x", "!!", auth):                                                   "subscription.keys.p256dh",
		web("https://push.example.net/x", base64.RawURLEncoding.EncodeToString(make([]byte, 65)), auth): "subscription.keys.p256dh",
		web("https://push.example.net/x", p256, "c2hvcnQ"):                                              "subscription.keys.auth",
		`{"device_id":"d","platform":"fcm","token":"t","extra":1}`:                                      "extra",
	}
	for body, field := range bad {
		code, raw := mt.Do(t, e.h, bob, "POST", "/v1/push/devices", body, nil)
		if code != 400 || !strings.Contains(string(raw), `"field":"`+field+`"`) || !strings.Contains(string(raw), `"code":"invalid_argument"`) {
			t.Errorf("%s: %d %s, want 400 on %s", body, code, raw, field)
		}
	}

	// The cap: 20 devices; a 21st is limit_exceeded, replacing one is still fine.
	for i := range 20 {
		if code, raw := mt.Do(t, e.h, bob, "POST", "/v1/push/devices", fmt.Sprintf(`{"device_id":"d%d","platform":"apns","token":"t%d"}`, i, i), nil); code != 201 {
			t.Fatalf("device %d: %d %s", i, code, raw)
		}
	}
	if code, raw := mt.Do(t, e.h, bob, "POST", "/v1/push/devices", `{"device_id":"d20","platform":"apns","token":"t"}`, nil); code != 409 ||
		!strings.Contains(string(raw), `"code":"limit_exceeded"`) {
		t.Fatalf("21st device: %d %s", code, raw)
	}
	if code, _ := mt.Do(t, e.h, bob, "POST", "/v1/push/devices", `{"device_id":"d3","platform":"apns","token":"new"}`, nil); code != 200 {
		t.Fatalf("replacing at the cap: %d", code)
	}
	var list events.DevicesResponse
	if code, _ := mt.Do(t, e.h, bob, "GET", "/v1/push/devices", "", &list); code != 200 || len(list.Devices) != 20 || list.Devices[0].DeviceID != "d0" {
		t.Fatalf("list: %d %d", code, len(list.Devices))
	}
	// Delete is idempotent and only touches the caller's devices.
	for range 2 {
		if code, _ := mt.Do(t, e.h, bob, "DELETE", "/v1/push/devices/d0", "", nil); code != 204 {
			t.Fatalf("delete: %d", code)
		}
	}
	mt.Do(t, e.h, bob, "DELETE", "/v1/push/devices/browser-1", "", nil)
	mt.Do(t, e.h, alice, "GET", "/v1/push/devices", "", &list)
	if len(list.Devices) != 1 {
		t.Fatalf("bob deleted alice's device: %+v", list)
	}
	mt.Do(t, e.h, bob, "GET", "/v1/push/devices", "", &list)
	if len(list.Devices) != 19 {
		t.Fatalf("bob's devices after delete: %d", len(list.Devices))
	}
}

// The VAPID key is generated once, sealed at rest, and the same for every process (each loads it).
func TestVAPIDKeyStableAndSealed(t *testing.T) {
	e := newEnv(t, push.Config{}, nil)
	user := mt.Users(t, e.pool, 1)[0]
	var a events.VAPIDKeyResponse
	if code, _ := mt.Do(t, e.h, user, "GET", "/v1/push/vapid-public-key", "", &a); code != 200 {
		t.Fatalf("vapid key: %d", code)
	}
	raw, err := base64.RawURLEncoding.DecodeString(a.Key)
	if err != nil || len(raw) != 65 || raw[0] != 4 || strings.Contains(a.Key, "=") {
		t.Fatalf("key %q is not a base64url uncompressed point", a.Key)
	}
	kek, _ := sealing.New([]byte("test key-encryption key"))
	again, err := push.LoadVAPIDKey(context.Background(), e.pool, kek)
	if err != nil || again.Public != a.Key {
		t.Fatalf("a second process loads %q, %v; want %q", again.Public, err, a.Key)
	}
	var encrypted bool
	var stored []byte
	_ = e.pool.QueryRow(context.Background(), `SELECT encrypted, private_key FROM push_vapid_keys`).Scan(&encrypted, &stored)
	if !encrypted || len(stored) < 100 {
		t.Fatalf("stored unsealed: %v %d", encrypted, len(stored))
	}
	wrong, _ := sealing.New([]byte("another key"))
	if _, err := push.LoadVAPIDKey(context.Background(), e.pool, wrong); err == nil {
		t.Fatal("opened with the wrong key-encryption key")
	}
	if _, err := push.LoadVAPIDKey(context.Background(), e.pool, nil); err == nil {
		t.Fatal("opened a sealed key without a key-encryption key")
	}
}
