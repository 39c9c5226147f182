-- Contacts, blocks, conversations, members, messages (issue 4). The users table is 0010_identity's.

-- Friend requests. At most one pending request per direction; decided requests are kept for history.
CREATE TABLE contact_requests (
    id           text PRIMARY KEY,
    from_user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    to_user_id   text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message      text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz,
    CHECK (from_user_id <> to_user_id)
);
CREATE UNIQUE INDEX contact_requests_one_pending ON contact_requests (from_user_id, to_user_id) WHERE status = 'pending';
CREATE INDEX contact_requests_incoming ON contact_requests (to_user_id, created_at) WHERE status = 'pending';

-- Accepted contacts: one row per direction, so "my contacts" is a single index range.
CREATE TABLE contacts (
    user_id    text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, contact_id)
);

CREATE TABLE blocks (
    blocker_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id)
);

-- Minimal file metadata so media messages can require a ready file the sender owns. The files
-- function (a later issue) owns this table and extends it with its own migration.
CREATE TABLE IF NOT EXISTS files (
    id           text PRIMARY KEY,
    owner_id     text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'rejected')),
    object_key   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- last_seq is the per-conversation message counter: incremented in the insert's statement, so seqs
-- are gapless and ordered. direct_key ("<lower id>:<higher id>") makes a direct conversation unique
-- per pair. members_count is kept in step by the membership writes so listing never counts.
CREATE TABLE conversations (
    id            text PRIMARY KEY,
    type          text NOT NULL CHECK (type IN ('direct', 'group')),
    title         text NOT NULL DEFAULT '',
    owner_id      text REFERENCES users(id) ON DELETE SET NULL,
    direct_key    text UNIQUE,
    last_seq      bigint NOT NULL DEFAULT 0,
    members_count integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A removed member's row is deleted: every read and write checks membership here, so a removed
-- member sees nothing sent after the removal (nor before: the conversation is 404 to them).
CREATE TABLE conversation_members (
    conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    read_seq        bigint NOT NULL DEFAULT 0,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, user_id)
);
-- The conversation list of a user.
CREATE INDEX conversation_members_user ON conversation_members (user_id, conversation_id);

-- Revoked messages keep their envelope; text, file_id and payload are cleared in place.
CREATE TABLE messages (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    sender_id       text NOT NULL REFERENCES users(id),
    client_msg_id   text NOT NULL,
    type            text NOT NULL,
    text            text NOT NULL DEFAULT '',
    file_id         text REFERENCES files(id),
    payload         json,             -- json, not jsonb: returned byte for byte as the sender wrote it
    status          text NOT NULL DEFAULT 'normal' CHECK (status IN ('normal', 'revoked')),
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_by      text,
    CONSTRAINT messages_conversation_seq UNIQUE (conversation_id, seq),
    CONSTRAINT messages_sender_client_msg UNIQUE (sender_id, client_msg_id)
);

-- Keto mirror repair: a row per (conversation, user) whose Keto tuples must be brought in line with
-- conversation_members. Written in the transaction of the grant, deleted once Keto has it; the
-- sweep reconciles rows left behind (Keto was down, the process died).
CREATE TABLE keto_sync (
    id              bigserial PRIMARY KEY,
    conversation_id text NOT NULL,
    user_id         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX keto_sync_created ON keto_sync (created_at);
