// Package reports is the moderation queue (API.md "v1.1 additions", Report): a member reports a
// message (POST /v1/messages/{id}/report, a snapshot of the message kept), admins list the queue
// (GET /v1/admin/reports) and resolve each report once (POST /v1/admin/reports/{id}/resolve) by
// dismissing it, revoking the message as an admin revoke does (messaging.RevokeLocked, pushed as
// message.revoked) or banning the sender as the admin ban route does (functions/internal/bans).
// Facts im.report.created and im.report.resolved; no push.
package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
	"github.com/parley-im/parley/infra/postgres"
)

// Source is the CloudEvents source of the reports function's facts.
const Source = "/parley/reports"

// Config of the function. Zero values take the documented defaults.
type Config struct {
	MaxNoteChars int // report and resolution notes; default 1000
	PageLimit    int // default page size of the queue; default 50
	MaxPageLimit int // default 200
}

// Authorizer answers system-role checks (*auth.Authorizer); the admin check fails closed.
type Authorizer interface {
	Allowed(ctx context.Context, namespace, object, relation, userID string, onOutage auth.OnOutage) (bool, error)
}

// Banner bans a user as the admin route does (*bans.Bans).
type Banner interface {
	Ban(ctx context.Context, userID string) error
}

// Deps are the function's clients.
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox messaging.Outbox
	Authz  Authorizer
	Bans   Banner
	Log    *slog.Logger
}

// Handler is the reports function.
type Handler struct {
	cfg Config
	d   Deps
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	def := func(v *int, n int) {
		if *v <= 0 {
			*v = n
		}
	}
	def(&cfg.MaxNoteChars, 1000)
	def(&cfg.PageLimit, 50)
	def(&cfg.MaxPageLimit, 200)
	return &Handler{cfg: cfg, d: d}
}

// Mount serves the public routes (the function consumes no events).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, h.Routes, nil)
}

// Routes registers the public routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	r := func(pattern string, fn serve.UserHandlerFunc) { mux.Handle(pattern, serve.UserRoute(h.d.Log, fn)) }
	r("POST /v1/messages/{id}/report", h.report)
	r("GET /v1/admin/reports", h.list)
	r("POST /v1/admin/reports/{id}/resolve", h.resolve)
}

// reportColumns selects a report as scanReport reads it.
const reportColumns = `id, message_id, conversation_id, reporter_id, reported_user_id, reason, note, status,
	coalesce(action, ''), coalesce(resolved_by, ''), resolved_at, created_at, message`

func scanReport(row pgx.Row) (events.Report, error) {
	var r events.Report
	var snapshot []byte
	if err := row.Scan(&r.ID, &r.MessageID, &r.ConversationID, &r.ReporterID, &r.ReportedUserID, &r.Reason, &r.Note,
		&r.Status, &r.Action, &r.ResolvedBy, &r.ResolvedAt, &r.CreatedAt, &snapshot); err != nil {
		return r, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	if r.ResolvedAt != nil {
		t := r.ResolvedAt.UTC()
		r.ResolvedAt = &t
	}
	if err := json.Unmarshal(snapshot, &r.Message); err != nil {
		return r, fmt.Errorf("report %s snapshot: %w", r.ID, err)
	}
	return r, nil
}

func (h *Handler) checkNote(note string) error {
	if utf8.RuneCountInString(note) > h.cfg.MaxNoteChars {
		return events.Invalid("note", "must be at most %d characters", h.cfg.MaxNoteChars)
	}
	return nil
}

func errMessageNotFound() error { return events.Errorf(events.CodeNotFound, "message not found") }

// report files the caller's report of a message; the caller's open report of it again answers
// that one (200).
func (h *Handler) report(w http.ResponseWriter, r *http.Request, userID string) error {
	var body events.ReportRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	switch body.Reason {
	case events.ReasonSpam, events.ReasonAbuse, events.ReasonIllegal, events.ReasonOther:
	case "":
		return events.Invalid("reason", "is required")
	default:
		return events.Invalid("reason", "must be spam, abuse, illegal or other")
	}
	if err := h.checkNote(body.Note); err != nil {
		return err
	}
	ctx, msgID := r.Context(), r.PathValue("id")
	var rep events.Report
	created := false
	err := h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		created = false
		msg, err := messaging.LoadMessage(ctx, tx, msgID, "")
		if messaging.IsNoRows(err) {
			return errMessageNotFound()
		}
		if err != nil {
			return fmt.Errorf("load message: %w", err)
		}
		if _, err := messaging.Role(ctx, tx, msg.ConversationID, userID); err != nil {
			return errMessageNotFound() // a stranger learns nothing about the message
		}
		existing, err := scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` FROM reports
			WHERE message_id = $1 AND reporter_id = $2 AND status = 'open'`, msgID, userID))
		if err == nil {
			rep = existing
			return nil
		}
		if !messaging.IsNoRows(err) {
			return fmt.Errorf("report: %w", err)
		}
		snapshot, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		// A concurrent report of the same message by the caller may win the insert: answer that one.
		rep, err = scanReport(tx.QueryRow(ctx, `INSERT INTO reports (id, message_id, conversation_id, reporter_id,
				reported_user_id, reason, note, message)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (message_id, reporter_id) WHERE status = 'open' DO NOTHING RETURNING `+reportColumns,
			messaging.NewID(), msgID, msg.ConversationID, userID, msg.SenderID, body.Reason, body.Note, snapshot))
		if messaging.IsNoRows(err) {
			rep, err = scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` FROM reports
				WHERE message_id = $1 AND reporter_id = $2 AND status = 'open'`, msgID, userID))
			return err
		}
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		created = true
		return messaging.EmitFact(ctx, emit, Source, events.TypeReportCreated, rep.ConversationID, events.ReportFact{Report: rep})
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return serve.WriteJSON(w, status, events.ReportResponse{Report: rep})
}

// requireAdmin re-checks the admin role although the rules file guards /v1/admin: removing a rule
// by mistake must not open the queue. It fails closed when Keto is unreachable.
func (h *Handler) requireAdmin(ctx context.Context, userID string) error {
	ok, err := h.d.Authz.Allowed(ctx, keto.NamespaceRole, keto.RoleAdmin, keto.RelationMembers, userID, auth.FailClosed)
	if err != nil {
		return err
	}
	if !ok {
		return events.Errorf(events.CodeForbidden, "this action needs the admin role")
	}
	return nil
}

// list pages the queue newest first: status (open by default), before (a report id, exclusive).
func (h *Handler) list(w http.ResponseWriter, r *http.Request, userID string) error {
	ctx := r.Context()
	if err := h.requireAdmin(ctx, userID); err != nil {
		return err
	}
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "":
		status = events.ReportOpen
	case events.ReportOpen, events.ReportResolved:
	default:
		return events.Invalid("status", "must be open or resolved")
	}
	limit := h.cfg.PageLimit
	if q.Has("limit") {
		v, err := strconv.Atoi(q.Get("limit"))
		if err != nil || v < 1 || v > h.cfg.MaxPageLimit {
			return events.Invalid("limit", "must be between 1 and %d", h.cfg.MaxPageLimit)
		}
		limit = v
	}
	before := q.Get("before")
	if len(before) > 64 {
		return events.Invalid("before", "is not a report id")
	}
	rows, err := h.d.Pool.Query(ctx, `SELECT `+reportColumns+` FROM reports
		WHERE status = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, status, before, limit+1)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Report, error) { return scanReport(r) })
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	if out == nil {
		out = []events.Report{}
	}
	return serve.WriteJSON(w, http.StatusOK, events.ReportsResponse{Reports: out, HasMore: more})
}

// resolve closes a report once with its action.
func (h *Handler) resolve(w http.ResponseWriter, r *http.Request, userID string) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := h.requireAdmin(ctx, userID); err != nil {
		return err
	}
	var body events.ResolveReportRequest
	if err := serve.Decode(w, r, &body); err != nil {
		return err
	}
	switch body.Action {
	case events.ActionDismiss, events.ActionRevokeMessage, events.ActionBanUser:
	case "":
		return events.Invalid("action", "is required")
	default:
		return events.Invalid("action", "must be dismiss, revoke_message or ban_user")
	}
	if err := h.checkNote(body.Note); err != nil {
		return err
	}
	rep, err := scanReport(h.d.Pool.QueryRow(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = $1`, id))
	if messaging.IsNoRows(err) {
		return events.Errorf(events.CodeNotFound, "report not found")
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if rep.Status == events.ReportResolved {
		return events.Errorf(events.CodeConflict, "the report is already resolved")
	}
	if body.Action == events.ActionBanUser {
		// The ban's own path: Keto first, then its mirror and facts. Done before the report is
		// closed, so a failure leaves the report open to try again (banning twice is harmless).
		if err := h.d.Bans.Ban(ctx, rep.ReportedUserID); err != nil {
			return err
		}
	}
	err = h.d.Outbox.InTx(ctx, func(tx pgx.Tx, emit postgres.Emit) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM reports WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if status == events.ReportResolved {
			return events.Errorf(events.CodeConflict, "the report is already resolved")
		}
		if body.Action == events.ActionRevokeMessage {
			// An admin revoke: any time, any member's message. Locked like the revoke function's.
			if _, err := tx.Exec(ctx, `SELECT 1 FROM messages WHERE id = $1 FOR UPDATE`, rep.MessageID); err != nil {
				return fmt.Errorf("lock message: %w", err)
			}
			if _, err := messaging.RevokeLocked(ctx, tx, emit, Source, rep.MessageID, userID); err != nil {
				return err
			}
		}
		var err error
		rep, err = scanReport(tx.QueryRow(ctx, `UPDATE reports SET status = 'resolved', action = $2, resolved_by = $3,
			resolved_at = now(), resolution_note = $4 WHERE id = $1 RETURNING `+reportColumns, id, body.Action, userID, body.Note))
		if err != nil {
			return fmt.Errorf("resolve: %w", err)
		}
		return messaging.EmitFact(ctx, emit, Source, events.TypeReportResolved, rep.ConversationID, events.ReportFact{Report: rep})
	})
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, events.ReportResponse{Report: rep})
}
