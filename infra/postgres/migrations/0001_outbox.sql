-- The transactional outbox: a fact commits with the state change it describes and is published after.
CREATE TABLE outbox (
    id           text PRIMARY KEY,            -- the CloudEvent id: republishing is idempotent
    topic        text NOT NULL,
    event        jsonb NOT NULL,              -- the CloudEvent in structured JSON form
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
