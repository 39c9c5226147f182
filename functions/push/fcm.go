package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/parley-im/parley/events"
)

// FCM sends through Firebase Cloud Messaging's HTTP v1 API: one POST per device to
// projects/<project>/messages:send, authorized by an OAuth2 access token that a Google service
// account obtains with a signed JWT assertion (RFC 7523). golang.org/x/oauth2/jwt makes and caches
// that token (refreshed before it expires), the library Google's own Go clients build on.
type FCM struct {
	project  string
	endpoint string
	client   *http.Client
	tokens   oauth2.TokenSource
	now      func() time.Time
}

// ServiceAccount is the part of a Google service-account key file (JSON) FCM needs.
type ServiceAccount struct {
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// fcmScope is the OAuth2 scope of the FCM v1 API.
const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// NewFCM builds the FCM provider from a service-account key file's JSON. endpoint is the API's
// base URL ("" = https://fcm.googleapis.com); client sends both the token requests and the pushes.
func NewFCM(serviceAccountJSON []byte, endpoint string, client *http.Client) (*FCM, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(serviceAccountJSON, &sa); err != nil {
		return nil, fmt.Errorf("fcm: service account: %w", err)
	}
	if sa.ProjectID == "" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, errors.New("fcm: the service account needs project_id, client_email and private_key")
	}
	if sa.TokenURI == "" {
		sa.TokenURI = "https://oauth2.googleapis.com/token"
	}
	if endpoint == "" {
		endpoint = "https://fcm.googleapis.com"
	}
	if client == nil {
		client = http.DefaultClient
	}
	cfg := &jwt.Config{Email: sa.ClientEmail, PrivateKey: []byte(sa.PrivateKey), PrivateKeyID: sa.PrivateKeyID,
		Scopes: []string{fcmScope}, TokenURL: sa.TokenURI}
	// The token source keeps this context for its refreshes: it carries only the HTTP client.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	return &FCM{project: sa.ProjectID, endpoint: strings.TrimSuffix(endpoint, "/"), client: client,
		tokens: oauth2.ReuseTokenSource(nil, cfg.TokenSource(ctx)), now: time.Now}, nil
}

// fcmData is the message's keys as FCM's data wants them: every value a string.
func fcmData(m events.PushMessage) map[string]string {
	d := map[string]string{
		"v": strconv.Itoa(m.V), "type": m.Type, "conversation_id": m.ConversationID, "conversation_type": m.ConversationType,
		"message_id": m.MessageID, "seq": strconv.FormatInt(m.Seq, 10), "sender_id": m.SenderID,
		"mentioned": strconv.FormatBool(m.Mentioned),
	}
	if m.Title != "" {
		d["title"] = m.Title
	}
	if m.Body != "" {
		d["body"] = m.Body
	}
	return d
}

// Send implements Provider.
func (f *FCM) Send(ctx context.Context, d Device, n Notification) error {
	tok, err := f.tokens.Token()
	if err != nil {
		return &RetryError{Err: fmt.Errorf("fcm: access token: %w", err)}
	}
	priority := "normal"
	if n.Urgent {
		priority = "high"
	}
	body, err := json.Marshal(map[string]any{"message": map[string]any{
		"token": d.Token,
		"data":  fcmData(n.Message),
		"android": map[string]any{"priority": priority, "ttl": strconv.Itoa(int(n.TTL.Seconds())) + "s",
			"collapse_key": n.Message.ConversationID},
	}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.endpoint+"/v1/projects/"+f.project+"/messages:send", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	tok.SetAuthHeader(req)
	resp, err := f.client.Do(req)
	if err != nil {
		return &RetryError{Err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	// A token FCM no longer knows is UNREGISTERED in the error details, whatever the status.
	var e struct {
		Error struct {
			Status  string `json:"status"`
			Details []struct {
				ErrorCode string `json:"errorCode"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil {
		for _, det := range e.Error.Details {
			if det.ErrorCode == "UNREGISTERED" {
				return fmt.Errorf("%w: fcm UNREGISTERED", ErrGone)
			}
		}
	}
	return statusError(resp, e.Error.Status, f.now())
}
