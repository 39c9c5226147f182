package conversations

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
)

// ndjsonType is the export's streamed form (Accept: application/x-ndjson).
const ndjsonType = "application/x-ndjson"

// export answers GET /v1/users/me/export (API.md "Export"): the caller's profile, contacts and
// conversations as their own routes list them, then every message the caller sent, oldest first.
// Both forms stream the messages from one PostgreSQL cursor through a small buffer, so the memory
// an export holds does not grow with the history (measured: TestExportNDJSONBoundedMemory); only
// the JSON form is capped (MaxJSONExportMessages, 413 above it), since a client must hold it whole.
func (h *Handler) export(w http.ResponseWriter, r *http.Request, userID string) error {
	ctx := r.Context()
	ndjson := accepts(r.Header.Get("Accept"), ndjsonType)
	user, err := exportUser(ctx, h.d.Pool, userID)
	if err != nil {
		return err
	}
	if !ndjson {
		var n int
		if err := h.d.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE sender_id = $1`, userID).Scan(&n); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if n > h.cfg.MaxJSONExportMessages {
			return events.Errorf(events.CodePayloadTooLarge,
				"%d messages exceed the JSON export's %d; ask for Accept: %s", n, h.cfg.MaxJSONExportMessages, ndjsonType)
		}
	}
	contacts, err := messaging.Contacts(ctx, h.d.Pool, userID)
	if err != nil {
		return err
	}
	convs, err := list(ctx, h.d.Pool, userID)
	if err != nil {
		return err
	}
	// Everything that can fail with a clean status is done; from here on the answer is 200 and a
	// failure can only cut the stream (an NDJSON stream without its end line is incomplete).
	rows, err := h.d.Pool.Query(ctx, `SELECT `+messaging.MessageColumns+` FROM `+messaging.MessageFrom+`
		WHERE m.sender_id = $1 ORDER BY m.created_at, m.id`, userID)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	ext, ct := "json", "application/json"
	if ndjson {
		ext, ct = "ndjson", ndjsonType
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="parley-export-%s.%s"`, userID, ext))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	var werr error
	if ndjson {
		werr = h.streamNDJSON(bw, user, contacts, convs, rows)
	} else {
		werr = streamJSON(bw, user, contacts, convs, rows)
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		// The status is sent: log, and let the cut stream tell the client.
		h.d.Log.WarnContext(ctx, "export cut short", "user_id", userID, "err", werr)
	}
	return nil
}

// streamNDJSON writes one {"type","data"} line per item, in the order user, contacts,
// conversations, messages, then the end line with the counts.
func (h *Handler) streamNDJSON(bw *bufio.Writer, user events.User, contacts []events.Contact, convs []events.Conversation, rows pgx.Rows) error {
	enc := json.NewEncoder(bw)
	line := func(typ string, data any) error { return enc.Encode(events.ExportLine{Type: typ, Data: data}) }
	if err := line(events.ExportUser, user); err != nil {
		return err
	}
	for _, c := range contacts {
		if err := line(events.ExportContact, c); err != nil {
			return err
		}
	}
	for _, c := range convs {
		if err := line(events.ExportConversation, c); err != nil {
			return err
		}
	}
	n := 0
	for rows.Next() {
		m, err := messaging.ScanMessage(rows)
		if err != nil {
			return err
		}
		if err := line(events.ExportMessage, m); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return line(events.ExportEndLine, events.ExportEnd{Contacts: len(contacts), Conversations: len(convs), Messages: n})
}

// streamJSON writes events.Export field by field, the messages array element by element.
func streamJSON(bw *bufio.Writer, user events.User, contacts []events.Contact, convs []events.Conversation, rows pgx.Rows) error {
	field := func(prefix string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, _ = bw.WriteString(prefix)
		_, err = bw.Write(b)
		return err
	}
	if err := field(`{"user":`, user); err != nil {
		return err
	}
	if err := field(`,"contacts":`, contacts); err != nil {
		return err
	}
	if err := field(`,"conversations":`, convs); err != nil {
		return err
	}
	sep := `,"messages":[`
	for rows.Next() {
		m, err := messaging.ScanMessage(rows)
		if err != nil {
			return err
		}
		if err := field(sep, m); err != nil {
			return err
		}
		sep = ","
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if sep != "," {
		_, _ = bw.WriteString(sep) // no messages: open the empty array
	}
	if err := field(`],"exported_at":`, time.Now().UTC()); err != nil {
		return err
	}
	_, err := bw.WriteString("}")
	return err
}

// exportUser is the caller's public profile.
func exportUser(ctx context.Context, q messaging.Querier, userID string) (events.User, error) {
	var u events.User
	err := q.QueryRow(ctx, `SELECT id, username, display_name, avatar_url, created_at FROM users
		WHERE id = $1 AND deleted_at IS NULL`, userID).Scan(&u.ID, &u.Username, &u.DisplayName, &u.AvatarURL, &u.CreatedAt)
	if messaging.IsNoRows(err) {
		return u, events.Errorf(events.CodeUnauthenticated, "this account no longer exists")
	}
	if err != nil {
		return u, fmt.Errorf("export: %w", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// accepts reports whether the Accept header lists mediaType (parameters and q ignored: asking for
// it at all picks it).
func accepts(header, mediaType string) bool {
	for _, part := range strings.Split(header, ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == mediaType {
			return true
		}
	}
	return false
}
