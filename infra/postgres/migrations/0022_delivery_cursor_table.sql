-- The delivery cursor moves to its own table. On the conversations row, fanout's cursor update
-- waited for every send transaction holding that row (send bumps last_seq there), once per message
-- of a busy conversation. A missing row means 0 (nothing delivered yet).
CREATE TABLE delivery_cursors (
    conversation_id text PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    delivered_seq   bigint NOT NULL
);
INSERT INTO delivery_cursors (conversation_id, delivered_seq)
    SELECT id, delivered_seq FROM conversations WHERE delivered_seq > 0;
ALTER TABLE conversations DROP COLUMN delivered_seq;
