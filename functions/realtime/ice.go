package realtime

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
)

// ParseICEServers reads the ICE server configuration (ICE_SERVERS). Two forms:
//
//   - JSON, the answer's own shape: [{"urls":["stun:stun.example:3478"]},{"urls":["turn:turn.example:3478?transport=udp"],"username":"u","credential":"p"}]
//   - a comma list of URLs: "stun:stun.example:3478,turn:turn.example:3478,turns:turn.example:5349".
//     Every stun: URL is a server of its own; the turn:/turns: URLs form one server (one credential).
//
// username and credential are static credentials; leave them out of TURN servers when a TURN secret
// is configured, and each answer carries fresh TURN REST credentials instead.
func ParseICEServers(s string) ([]events.ICEServer, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []events.ICEServer
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, events.Invalid("ICE_SERVERS", "is not a JSON list of {urls, username?, credential?}: %v", err)
		}
	} else {
		var turn []string
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u == "" {
				continue
			}
			if isTURN(u) {
				turn = append(turn, u)
			} else {
				out = append(out, events.ICEServer{URLs: []string{u}})
			}
		}
		if len(turn) > 0 {
			out = append(out, events.ICEServer{URLs: turn})
		}
	}
	for _, srv := range out {
		if len(srv.URLs) == 0 {
			return nil, events.Invalid("ICE_SERVERS", "a server has no urls")
		}
		for _, u := range srv.URLs {
			if !isTURN(u) && !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
				return nil, events.Invalid("ICE_SERVERS", "%q is not a stun:, stuns:, turn: or turns: URL", u)
			}
		}
	}
	return out, nil
}

func isTURN(u string) bool { return strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") }

// TURNCredentials returns the TURN REST API credentials of userID valid until expiry:
// username "<expiry unix seconds>:<user id>", credential base64(HMAC-SHA1(secret, username)), which a
// TURN server sharing the secret (coturn use-auth-secret) verifies without any call to us.
func TURNCredentials(secret []byte, userID string, expiry time.Time) (username, credential string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + userID
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ICEServers returns the servers userID may use now.
func (h *Handler) ICEServers(userID string, now time.Time) []events.ICEServer {
	out := make([]events.ICEServer, 0, len(h.cfg.ICEServers))
	for _, srv := range h.cfg.ICEServers {
		srv.URLs = append([]string(nil), srv.URLs...)
		if len(h.cfg.TURNSecret) > 0 && srv.Username == "" && hasTURN(srv.URLs) {
			srv.Username, srv.Credential = TURNCredentials(h.cfg.TURNSecret, userID, now.Add(h.cfg.TURNTTL))
		}
		out = append(out, srv)
	}
	return out
}

func hasTURN(urls []string) bool {
	for _, u := range urls {
		if isTURN(u) {
			return true
		}
	}
	return false
}

// getICEServers answers GET /v1/calls/ice-servers. The answer holds credentials: never cached.
func (h *Handler) getICEServers(w http.ResponseWriter, r *http.Request, userID string) error {
	w.Header().Set("Cache-Control", "no-store")
	return serve.WriteJSON(w, http.StatusOK, events.ICEServersResponse{ICEServers: h.ICEServers(userID, time.Now())})
}
