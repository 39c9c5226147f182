-- v1.1 (issue 14): edit, replies, mentions, reactions, pins and search. Every change here is
-- catalog-only on messages (nullable columns, a constant default: no table rewrite); the two
-- indexes are built by a read of the table, never a rewrite of its rows. Every statement is
-- IF NOT EXISTS, so on a large messages table an operator can apply this ahead of the deploy without
-- holding sends off: run the ALTER TABLE (instant), then the two CREATE INDEX as CREATE INDEX
-- CONCURRENTLY, then the rest; the migration then finds everything there and changes nothing.

-- edited_at: the last edit. reply_to: the parent (of the same conversation, checked by send; no
-- foreign key: a message is never deleted, only revoked or erased). mentions: the
-- member ids mentioned (NULL when none). search_text: the current text, simple-case-folded in Go
-- (messaging.SearchText) at insert and edit, NULL for non-text, revoked and erased messages: the
-- search route matches it with strpos, so it is the only text search ever sees. Messages stored
-- before this migration have none until the sweep's batched backfill (search_backfill below) fills it.
ALTER TABLE messages
    ADD COLUMN IF NOT EXISTS edited_at   timestamptz,
    ADD COLUMN IF NOT EXISTS reply_to    text,
    ADD COLUMN IF NOT EXISTS mentions    text[],
    ADD COLUMN IF NOT EXISTS mention_all boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS search_text text;

-- Search scans the caller's conversations newest first; search_text is carried in the index so
-- the scan never visits the heap (an index-only scan; BENCHMARKS.md "Message search").
CREATE INDEX IF NOT EXISTS messages_search ON messages (conversation_id, created_at DESC, id DESC) INCLUDE (search_text);

-- mention_count: the few messages that mention anyone, by conversation and seq.
CREATE INDEX IF NOT EXISTS messages_mentioning ON messages (conversation_id, seq) WHERE mention_all OR mentions IS NOT NULL;

-- One row per (message, user, key); id orders keys by first use.
CREATE TABLE IF NOT EXISTS message_reactions (
    id         bigint GENERATED ALWAYS AS IDENTITY,
    message_id text NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key        text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, key, user_id)
);

CREATE TABLE IF NOT EXISTS pins (
    conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_id      text NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    pinned_by       text NOT NULL,
    pinned_at       timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, message_id)
);
-- Revoking (or erasing) a message unpins it: found by message.
CREATE INDEX IF NOT EXISTS pins_message ON pins (message_id);

-- The sweep's batched search_text backfill of messages stored before this migration: it walks
-- messages by primary key from after_id, a bounded batch per sweep, until done.
CREATE TABLE IF NOT EXISTS search_backfill (
    id       integer PRIMARY KEY CHECK (id = 1),
    after_id text NOT NULL DEFAULT '',
    done     boolean NOT NULL DEFAULT false
);
INSERT INTO search_backfill (id) VALUES (1) ON CONFLICT DO NOTHING;
