-- Reports (v1.1): a member reports a message; admins work the queue (GET /v1/admin/reports) and
-- resolve each report once: dismiss, revoke_message (the admin revoke) or ban_user (the admin ban).
CREATE TABLE reports (
    id               text PRIMARY KEY,                -- UUIDv7: the queue pages newest first by id
    message_id       text NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id  text NOT NULL,
    reporter_id      text NOT NULL REFERENCES users(id),
    reported_user_id text NOT NULL REFERENCES users(id),  -- the message's sender
    reason           text NOT NULL CHECK (reason IN ('spam', 'abuse', 'illegal', 'other')),
    note             text NOT NULL DEFAULT '',
    message          jsonb NOT NULL,                  -- the message as it read when reported
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    action           text CHECK (action IN ('dismiss', 'revoke_message', 'ban_user')),
    resolved_by      text,
    resolved_at      timestamptz,
    resolution_note  text NOT NULL DEFAULT '',        -- the admin's note (not in the public object)
    created_at       timestamptz NOT NULL DEFAULT now()
);
-- One open report per (message, reporter): reporting again answers that one.
CREATE UNIQUE INDEX reports_open_once ON reports (message_id, reporter_id) WHERE status = 'open';
-- The queue: by status, newest first.
CREATE INDEX reports_queue ON reports (status, id DESC);
