-- When the cursor last advanced. Send refuses a conversation whose deliveries are far behind only
-- while fanout is making progress on it: a cursor that has not moved for a while means the facts
-- that would move it were lost to fanout (dead-lettered in a broker outage), and only a newer
-- message's fact (whose delivery fills the gap from PostgreSQL) can move it again.
ALTER TABLE delivery_cursors ADD COLUMN advanced_at timestamptz NOT NULL DEFAULT now();
