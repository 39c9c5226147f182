package push

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/postgres"
)

// Device is a registered device with its secrets, as the providers need it.
type Device struct {
	UserID, DeviceID, Platform string
	Token                      string // fcm, apns
	Endpoint, P256dh, Auth     string // webpush (keys base64url)
}

// Limits of device registration.
const (
	maxDeviceIDChars = 128
	maxTokenBytes    = 4096
	maxEndpointBytes = 2048
)

func (h *Handler) registerDevice(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.RegisterDeviceRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	d, err := validDevice(userID, body)
	if err != nil {
		return err
	}
	dev, created, err := h.saveDevice(r.Context(), d)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return serve.WriteJSON(w, status, events.DeviceResponse{Device: dev})
}

// validDevice checks a registration and returns the row to store.
func validDevice(userID string, b events.RegisterDeviceRequest) (Device, error) {
	d := Device{UserID: userID, DeviceID: b.DeviceID, Platform: b.Platform}
	n := utf8.RuneCountInString(b.DeviceID)
	if n < 1 || n > maxDeviceIDChars || strings.IndexFunc(b.DeviceID, unicode.IsControl) >= 0 {
		return d, events.Invalid("device_id", "must be 1-%d characters without control characters", maxDeviceIDChars)
	}
	switch b.Platform {
	case events.PlatformWebPush:
		if b.Subscription == nil {
			return d, events.Invalid("subscription", "is required for webpush")
		}
		if b.Token != "" {
			return d, events.Invalid("token", "is not used by webpush")
		}
		s := b.Subscription
		u, err := url.Parse(s.Endpoint)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(s.Endpoint) > maxEndpointBytes || u.User != nil {
			return d, events.Invalid("subscription.endpoint", "must be an https URL of at most %d bytes", maxEndpointBytes)
		}
		p, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s.Keys.P256dh, "="))
		if err != nil {
			return d, events.Invalid("subscription.keys.p256dh", "must be base64url")
		}
		if _, err := ecdh.P256().NewPublicKey(p); err != nil || len(p) != 65 {
			return d, events.Invalid("subscription.keys.p256dh", "must be an uncompressed P-256 point (65 bytes)")
		}
		a, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s.Keys.Auth, "="))
		if err != nil || len(a) != 16 {
			return d, events.Invalid("subscription.keys.auth", "must be 16 bytes, base64url")
		}
		d.Endpoint = s.Endpoint
		d.P256dh = base64.RawURLEncoding.EncodeToString(p)
		d.Auth = base64.RawURLEncoding.EncodeToString(a)
	case events.PlatformFCM, events.PlatformAPNs:
		if b.Subscription != nil {
			return d, events.Invalid("subscription", "is only for webpush")
		}
		if b.Token == "" || len(b.Token) > maxTokenBytes ||
			strings.IndexFunc(b.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return d, events.Invalid("token", "is required for %s: at most %d bytes, no spaces", b.Platform, maxTokenBytes)
		}
		d.Token = b.Token
	case "":
		return d, events.Invalid("platform", "is required")
	default:
		return d, events.Invalid("platform", "must be webpush, fcm or apns")
	}
	return d, nil
}

// saveDevice inserts or replaces the device; created is false when the device_id existed. A
// per-user advisory lock serializes registrations so the cap holds under concurrency.
func (h *Handler) saveDevice(ctx context.Context, d Device) (dev events.PushDevice, created bool, err error) {
	err = postgres.InTx(ctx, h.d.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('push_devices:' || $1, 0))`, d.UserID); err != nil {
			return fmt.Errorf("lock devices: %w", err)
		}
		var exists bool
		var count int
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(device_id = $2), false) FROM push_devices WHERE user_id = $1`,
			d.UserID, d.DeviceID).Scan(&count, &exists); err != nil {
			return fmt.Errorf("count devices: %w", err)
		}
		if !exists && count >= h.cfg.MaxDevices {
			return events.Errorf(events.CodeLimitExceeded, "at most %d push devices per user", h.cfg.MaxDevices)
		}
		created = !exists
		err := tx.QueryRow(ctx, `INSERT INTO push_devices (user_id, device_id, platform, token, endpoint, p256dh, auth)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (user_id, device_id) DO UPDATE SET platform = EXCLUDED.platform, token = EXCLUDED.token,
				endpoint = EXCLUDED.endpoint, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, updated_at = now()
			RETURNING device_id, platform, created_at, updated_at`,
			d.UserID, d.DeviceID, d.Platform, d.Token, d.Endpoint, d.P256dh, d.Auth).
			Scan(&dev.DeviceID, &dev.Platform, &dev.CreatedAt, &dev.UpdatedAt)
		if err != nil {
			return fmt.Errorf("save device: %w", err)
		}
		dev.CreatedAt, dev.UpdatedAt = dev.CreatedAt.UTC(), dev.UpdatedAt.UTC()
		return nil
	})
	return dev, created, err
}

func (h *Handler) listDevices(w http.ResponseWriter, r *http.Request, userID string) error {
	rows, err := h.d.Pool.Query(r.Context(), `SELECT device_id, platform, created_at, updated_at FROM push_devices
		WHERE user_id = $1 ORDER BY created_at, device_id`, userID)
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	devs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.PushDevice, error) {
		var d events.PushDevice
		err := r.Scan(&d.DeviceID, &d.Platform, &d.CreatedAt, &d.UpdatedAt)
		d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
		return d, err
	})
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	if devs == nil {
		devs = []events.PushDevice{}
	}
	return serve.WriteJSON(w, http.StatusOK, events.DevicesResponse{Devices: devs})
}

func (h *Handler) deleteDevice(w http.ResponseWriter, r *http.Request, userID string) error {
	if _, err := h.d.Pool.Exec(r.Context(), `DELETE FROM push_devices WHERE user_id = $1 AND device_id = $2`,
		userID, r.PathValue("device_id")); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) vapidPublicKey(w http.ResponseWriter, _ *http.Request, _ string) error {
	w.Header().Set("Cache-Control", "private, max-age=3600")
	return serve.WriteJSON(w, http.StatusOK, events.VAPIDKeyResponse{Key: h.vapid.Public})
}

// forget deletes a device a push service reported gone, unless it was re-registered with another
// token or subscription since (that one is not known to be gone).
func (h *Handler) forget(ctx context.Context, d Device) error {
	_, err := h.d.Pool.Exec(ctx, `DELETE FROM push_devices WHERE user_id = $1 AND device_id = $2 AND token = $3 AND endpoint = $4`,
		d.UserID, d.DeviceID, d.Token, d.Endpoint)
	return err
}
