package send

import "github.com/jackc/pgx/v5/pgxpool"

// PoolOf exposes the handler's pool to the external tests.
func PoolOf(h *Handler) *pgxpool.Pool { return h.store.pool }
