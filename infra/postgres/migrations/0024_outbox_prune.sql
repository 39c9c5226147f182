-- Published outbox rows are kept for a while (a trace can still find the fact) and then pruned by
-- the sweep (OUTBOX_RETENTION): before, every message left a ~1 KB row for good. Rows are marked
-- published by an UPDATE that already leaves the partial index outbox_unpublished, so this one adds
-- one index entry per fact.
CREATE INDEX IF NOT EXISTS outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
