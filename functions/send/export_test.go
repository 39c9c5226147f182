package send

import "github.com/jackc/pgx/v5/pgxpool"

// PoolOf exposes the handler's pool to the external tests.
func PoolOf(h *Handler) *pgxpool.Pool { return h.store.pool }

// LargestBatch is the most messages one group commit has held.
func LargestBatch(h *Handler) int64 { return h.commit.largest.Load() }
