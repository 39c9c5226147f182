// Package search finds messages by their text: GET /v1/search/messages (API.md v1.1). A query
// matches a substring of a message's current text, with no word splitting (any script: 你好 finds
// 大家你好啊), under Unicode simple case folding, % and _ literal; it sees only the conversations
// the caller is a member of now, and never revoked, erased or pre-edit text.
//
// How: every text message carries search_text, its text simple-case-folded in Go when it is sent
// or edited and cleared when it is revoked (messaging.SearchText), and the folded query is matched
// with strpos (no pattern, so % and _ are plain characters) over the caller's conversations, newest
// first, through an index that carries search_text (an index-only scan). BENCHMARKS.md "Search"
// has the measurements and why not pg_trgm.
package search

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

// Config of the search function. Zero values take the documented defaults.
type Config struct {
	MinQueryChars, MaxQueryChars int // default 2 and 100
	Limit, MaxLimit              int // default 20 and 100
}

// Deps are search's clients.
type Deps struct {
	Pool *pgxpool.Pool
	Log  *slog.Logger
}

// Handler is the search function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MinQueryChars, 2)
	def(&cfg.MaxQueryChars, 100)
	def(&cfg.Limit, 20)
	def(&cfg.MaxLimit, 100)
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the function: its public route only.
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, nil)
}

// Routes registers the public route.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /v1/search/messages", serve.UserRoute(h.d.Log, h.get))
}

// Query is one search request.
type Query struct {
	Q              string // as given; trimmed here
	ConversationID string // "" = every conversation of the caller
	Before         string // the id of the last message of the previous page; "" = from the newest
	Limit          int    // 0 = the default
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, userID string) error {
	v := r.URL.Query()
	q := Query{Q: v.Get("q"), ConversationID: v.Get("conversation_id"), Before: v.Get("before")}
	if v.Has("limit") {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil || n < 1 || n > h.cfg.MaxLimit {
			return events.Invalid("limit", "must be between 1 and %d", h.cfg.MaxLimit)
		}
		q.Limit = n
	}
	msgs, more, err := h.Search(r.Context(), userID, q)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.MessagesResponse{Messages: msgs, HasMore: more})
}

// SearchSQL finds the matching message ids (exported to the benchmark, which EXPLAINs it). $1 the
// caller, $2 one conversation or NULL, $3 the folded query, $4/$5 the (created_at, id) to page
// below or NULL, $6 the page size + 1. The members range drives a scan of messages_search per
// conversation, each newest first; strpos on the indexed search_text needs no heap visit.
const SearchSQL = `SELECT m.id FROM conversation_members cm
	JOIN messages m ON m.conversation_id = cm.conversation_id
	WHERE cm.user_id = $1 AND ($2::text IS NULL OR cm.conversation_id = $2)
	  AND strpos(m.search_text, $3) > 0
	  AND ($4::timestamptz IS NULL OR (m.created_at, m.id) < ($4, $5::text))
	ORDER BY m.created_at DESC, m.id DESC LIMIT $6`

// Search returns a page of the caller's matching messages, newest first, and whether more match.
func (h *Handler) Search(ctx context.Context, userID string, q Query) ([]events.Message, bool, error) {
	text := strings.TrimSpace(q.Q)
	if n := utf8.RuneCountInString(text); n < h.cfg.MinQueryChars || n > h.cfg.MaxQueryChars || !utf8.ValidString(text) {
		return nil, false, events.Invalid("q", "must be %d to %d characters", h.cfg.MinQueryChars, h.cfg.MaxQueryChars)
	}
	limit := messaging.Limit(q.Limit, h.cfg.Limit, h.cfg.MaxLimit)
	var conv *string
	if q.ConversationID != "" {
		if _, err := messaging.Role(ctx, h.d.Pool, q.ConversationID, userID); err != nil {
			return nil, false, err
		}
		conv = &q.ConversationID
	}
	var beforeAt *time.Time
	var beforeID *string
	if q.Before != "" {
		at, err := h.cursor(ctx, userID, q.Before)
		if err != nil {
			return nil, false, err
		}
		beforeAt, beforeID = &at, &q.Before
	}
	rows, err := h.d.Pool.Query(ctx, SearchSQL, userID, conv, messaging.SearchText(text), beforeAt, beforeID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	msgs, err := h.load(ctx, userID, ids)
	return msgs, more, err
}

// cursor returns the created_at of the message a page continues below. It must be a message the
// caller can see now (else 400: a stranger learns nothing from the answer).
func (h *Handler) cursor(ctx context.Context, userID, messageID string) (time.Time, error) {
	var at time.Time
	err := h.d.Pool.QueryRow(ctx, `SELECT m.created_at FROM messages m JOIN conversation_members cm
		ON cm.conversation_id = m.conversation_id AND cm.user_id = $2 WHERE m.id = $1`, messageID, userID).Scan(&at)
	if messaging.IsNoRows(err) {
		return at, events.Invalid("before", "is not a message of your conversations")
	}
	if err != nil {
		return at, fmt.Errorf("search cursor: %w", err)
	}
	return at, nil
}

// load renders the matching messages in the order found, as history shows them to the caller.
func (h *Handler) load(ctx context.Context, userID string, ids []string) ([]events.Message, error) {
	msgs := make([]events.Message, 0, len(ids))
	if len(ids) == 0 {
		return msgs, nil
	}
	rows, err := h.d.Pool.Query(ctx, `SELECT `+messaging.MessageColumns+` FROM `+messaging.MessageFrom+`
		WHERE m.id = ANY($1) AND m.status = 'normal' ORDER BY m.created_at DESC, m.id DESC`, ids)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	msgs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Message, error) { return messaging.ScanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if msgs == nil {
		msgs = []events.Message{}
	}
	return msgs, messaging.Reactions(ctx, h.d.Pool, userID, msgs)
}
