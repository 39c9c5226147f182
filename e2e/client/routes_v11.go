package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/parley-im/parley/events"
)

// v1.1 routes of issue 15: mute, push devices, data export, erasure, reports.

// SetMute sets the caller's mute of a conversation (nil unmutes) and returns what the server holds.
func (c *Client) SetMute(ctx context.Context, conversationID string, until *time.Time) (events.ConversationSettings, error) {
	var r events.SettingsResponse
	body := map[string]any{"muted_until": until}
	err := c.Do(ctx, http.MethodPatch, pathf("/v1/conversations/%s/settings", conversationID), body, &r)
	return r.Settings, err
}

// RegisterDevice registers (or replaces) a push device; created is true for a new one (201).
func (c *Client) RegisterDevice(ctx context.Context, r events.RegisterDeviceRequest) (dev events.PushDevice, created bool, err error) {
	b, err := json.Marshal(r)
	if err != nil {
		return dev, false, err
	}
	status, answer, err := c.Raw(ctx, http.MethodPost, "/v1/push/devices", "application/json", b, true)
	if err != nil {
		return dev, false, err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return dev, false, newAPIError(http.MethodPost, "/v1/push/devices", status, answer)
	}
	var out events.DeviceResponse
	err = json.Unmarshal(answer, &out)
	return out.Device, status == http.StatusCreated, err
}

// Devices lists the caller's push devices.
func (c *Client) Devices(ctx context.Context) ([]events.PushDevice, error) {
	var r events.DevicesResponse
	err := c.Do(ctx, http.MethodGet, "/v1/push/devices", nil, &r)
	return r.Devices, err
}

// DeleteDevice forgets one of the caller's push devices.
func (c *Client) DeleteDevice(ctx context.Context, deviceID string) error {
	return c.Do(ctx, http.MethodDelete, pathf("/v1/push/devices/%s", deviceID), nil, nil)
}

// VAPIDKey returns the application server key browsers subscribe with.
func (c *Client) VAPIDKey(ctx context.Context) (string, error) {
	var r events.VAPIDKeyResponse
	err := c.Do(ctx, http.MethodGet, "/v1/push/vapid-public-key", nil, &r)
	return r.Key, err
}

// Export fetches the caller's data export: JSON, or NDJSON when ndjson is set. It returns the
// status, the answer's headers and body undecoded.
func (c *Client) Export(ctx context.Context, ndjson bool) (int, http.Header, []byte, error) {
	ref, _ := url.Parse("/v1/users/me/export")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.ResolveReference(ref).String(), nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if ndjson {
		req.Header.Set("Accept", "application/x-ndjson")
	}
	req.Header.Set("Authorization", "Bearer "+c.Tokens().AccessToken)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// DeleteMeErase deletes the caller's account and erases every message they sent.
func (c *Client) DeleteMeErase(ctx context.Context, password string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/users/me", events.DeleteMeRequest{Password: password, Erase: true}, nil)
}

// Report reports a message.
func (c *Client) Report(ctx context.Context, messageID string, r events.ReportRequest) (events.Report, error) {
	var out events.ReportResponse
	err := c.Do(ctx, http.MethodPost, pathf("/v1/messages/%s/report", messageID), r, &out)
	return out.Report, err
}

// Reports lists the admin queue (query: status, before, limit as URL query text, may be "").
func (c *Client) Reports(ctx context.Context, query string) (events.ReportsResponse, error) {
	var out events.ReportsResponse
	path := "/v1/admin/reports"
	if query != "" {
		path += "?" + query
	}
	err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// ResolveReport resolves a report (admins).
func (c *Client) ResolveReport(ctx context.Context, id string, r events.ResolveReportRequest) (events.Report, error) {
	var out events.ReportResponse
	err := c.Do(ctx, http.MethodPost, pathf("/v1/admin/reports/%s/resolve", id), r, &out)
	return out.Report, err
}
