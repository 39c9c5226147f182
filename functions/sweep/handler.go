// Package sweep repairs what a request could not finish after its commit: it republishes outbox
// rows left unpublished (the process died between commit and publish, the broker was down) and
// reconciles Keto tuples whose write failed, and backfills messages.search_text of messages stored
// before it existed (BackfillSearch). A schedule (Knative PingSource) triggers it.
package sweep

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/functions/internal/serve"
)

// Outbox republishes unpublished rows and prunes published ones (*postgres.Outbox).
type Outbox interface {
	Sweep(ctx context.Context, olderThan time.Duration, limit int) (int, error)
	Prune(ctx context.Context, retention time.Duration, limit int) (int, error)
}

// Config of the function. Zero values take the documented defaults.
type Config struct {
	// OlderThan leaves rows younger than this to the request that wrote them (it is about to
	// publish); default 5s.
	OlderThan time.Duration
	// Batch is the rows per sweep transaction; default 500. A sweep runs batches until one is short,
	// at most MaxBatches (default 20) per trigger.
	Batch      int
	MaxBatches int
	// Retention keeps published outbox rows this long (a trace can still find the fact), then each
	// sweep deletes up to MaxBatches x PruneBatch of them; defaults 1h and 5000.
	Retention  time.Duration
	PruneBatch int
}

// Deps are the function's clients. Mirror may be nil (Keto not configured).
type Deps struct {
	Pool   *pgxpool.Pool
	Outbox Outbox
	Mirror *messaging.Mirror
	Log    *slog.Logger
	// Meter creates the republished counter; default the global meter provider's.
	Meter metric.Meter
}

// RepublishedMetric counts outbox rows the sweep had to publish: each is a fact whose request
// died (or whose broker write failed) between commit and publish. Steady non-zero means the
// publish path after commit is failing (alert "ParleyOutboxSweepRepublishing").
const RepublishedMetric = "parley_outbox_republished"

// Handler is the sweep function.
type Handler struct {
	cfg         Config
	d           Deps
	republished metric.Int64Counter
}

// New builds the function.
func New(cfg Config, d Deps) *Handler {
	if cfg.OlderThan <= 0 {
		cfg.OlderThan = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.MaxBatches <= 0 {
		cfg.MaxBatches = 20
	}
	if cfg.Retention <= 0 {
		cfg.Retention = time.Hour
	}
	if cfg.PruneBatch <= 0 {
		cfg.PruneBatch = 5000
	}
	if d.Mirror == nil {
		d.Mirror = messaging.NewMirror(nil, d.Log)
	}
	if d.Meter == nil {
		d.Meter = otel.GetMeterProvider().Meter("github.com/parley-im/parley/functions/sweep")
	}
	h := &Handler{cfg: cfg, d: d}
	// A counter that cannot be created is a programming error in the name; the sweep still runs.
	h.republished, _ = d.Meter.Int64Counter(RepublishedMetric,
		metric.WithDescription("Outbox rows republished by the sweep (left unpublished after their commit)."))
	return h
}

// Mount serves the function: POST / for the schedule's ping (no public routes).
func (h *Handler) Mount(ctx context.Context, opts serve.Options) (http.Handler, error) {
	return serve.Mount(ctx, opts, nil, h.HandleEvent)
}

// HandleEvent runs one sweep; any event (the ping) triggers it. A failure is retried by the trigger,
// and the next ping sweeps again anyway.
func (h *Handler) HandleEvent(ctx context.Context, _ event.Event) (*event.Event, error) {
	_, err := h.Sweep(ctx)
	return nil, err
}

// prune deletes published outbox rows past the retention, up to MaxBatches batches; a failure is
// logged and left to the next sweep.
func (h *Handler) prune(ctx context.Context) {
	total := 0
	for range h.cfg.MaxBatches {
		n, err := h.d.Outbox.Prune(ctx, h.cfg.Retention, h.cfg.PruneBatch)
		total += n
		if err != nil {
			h.d.Log.WarnContext(ctx, "outbox prune failed; next sweep retries", "err", err)
			break
		}
		if n < h.cfg.PruneBatch {
			break
		}
	}
	if total > 0 {
		h.d.Log.InfoContext(ctx, "sweep pruned published outbox rows", "rows", total)
	}
}

// backfill runs up to MaxBatches batches of the search_text backfill (BackfillSearch); a failure is
// logged and left to the next sweep.
func (h *Handler) backfill(ctx context.Context) {
	if h.d.Pool == nil { // a sweep built for the outbox alone (tests of the counter)
		return
	}
	for range h.cfg.MaxBatches {
		n, done, err := BackfillSearch(ctx, h.d.Pool, h.cfg.Batch)
		if err != nil {
			h.d.Log.WarnContext(ctx, "search backfill failed; next sweep retries", "err", err)
			return
		}
		if n > 0 {
			h.d.Log.InfoContext(ctx, "search backfill", "rows", n)
		}
		if done {
			return
		}
	}
}

// Sweep republishes stale outbox rows, prunes old published ones, backfills search_text and repairs
// Keto; it returns the outbox rows published.
func (h *Handler) Sweep(ctx context.Context) (int, error) {
	total := 0
	for range h.cfg.MaxBatches {
		n, err := h.d.Outbox.Sweep(ctx, h.cfg.OlderThan, h.cfg.Batch)
		total += n
		if err != nil {
			return total, err
		}
		if n < h.cfg.Batch {
			break
		}
	}
	if total > 0 {
		h.republished.Add(ctx, int64(total))
		h.d.Log.WarnContext(ctx, "sweep republished outbox rows", "rows", total)
	}
	h.prune(ctx)
	h.backfill(ctx)
	if n, err := h.d.Mirror.Repair(ctx, h.d.Pool, h.cfg.OlderThan, h.cfg.Batch); err != nil {
		h.d.Log.WarnContext(ctx, "keto repair failed; next sweep retries", "err", err)
	} else if n > 0 {
		h.d.Log.InfoContext(ctx, "sweep repaired keto tuples", "rows", n)
	}
	return total, nil
}
