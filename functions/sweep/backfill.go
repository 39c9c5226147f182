package sweep

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/functions/internal/messaging"
	"github.com/parley-im/parley/infra/postgres"
)

// BackfillSearch fills messages.search_text for text messages stored before it existed (migration
// 0040), one batch per transaction by primary key from the stored cursor: a bounded amount of work
// per sweep instead of one migration rewriting every row. The folding is Go's (messaging.SearchText),
// as for new messages. It returns the rows updated and whether the walk is over.
func BackfillSearch(ctx context.Context, pool *pgxpool.Pool, batch int) (updated int, done bool, err error) {
	err = postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		updated = 0
		var after string
		// FOR UPDATE: two sweeps (two replicas, a retried ping) never walk the same batch.
		if err := tx.QueryRow(ctx, `SELECT after_id, done FROM search_backfill WHERE id = 1 FOR UPDATE`).Scan(&after, &done); err != nil {
			if messaging.IsNoRows(err) {
				done = true
				return nil
			}
			return fmt.Errorf("search backfill cursor: %w", err)
		}
		if done {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT id, type = 'text' AND status = 'normal' AND search_text IS NULL, text
			FROM messages WHERE id > $1 ORDER BY id LIMIT $2`, after, batch)
		if err != nil {
			return fmt.Errorf("search backfill: %w", err)
		}
		var ids, texts []string
		n := 0
		for rows.Next() {
			var id, text string
			var missing bool
			if err := rows.Scan(&id, &missing, &text); err != nil {
				rows.Close()
				return fmt.Errorf("search backfill: %w", err)
			}
			n++
			after = id
			if missing {
				ids, texts = append(ids, id), append(texts, messaging.SearchText(text))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("search backfill: %w", err)
		}
		if len(ids) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE messages m SET search_text = b.search_text
				FROM unnest($1::text[], $2::text[]) AS b(id, search_text)
				WHERE m.id = b.id AND m.search_text IS NULL AND m.status = 'normal'`, ids, texts)
			if err != nil {
				return fmt.Errorf("search backfill: %w", err)
			}
			updated = int(tag.RowsAffected())
		}
		done = n < batch
		_, err = tx.Exec(ctx, `UPDATE search_backfill SET after_id = $1, done = $2 WHERE id = 1`, after, done)
		return err
	})
	return updated, done, err
}
