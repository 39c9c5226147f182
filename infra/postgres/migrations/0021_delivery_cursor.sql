-- The delivery cursor (fanout): the highest message seq fanout has delivered to the conversation's
-- members. Facts can reach the broker out of seq order (two send leaders or instances publish
-- separately) or twice (outbox flush and sweep, dispatcher retries); fanout delivers only seqs above
-- the cursor, filling a gap from the messages table first, and advances the cursor after its publish.
-- Existing conversations start at their last_seq: their history is not pushed again.
ALTER TABLE conversations ADD COLUMN delivered_seq bigint NOT NULL DEFAULT 0;
UPDATE conversations SET delivered_seq = last_seq WHERE last_seq > 0;
