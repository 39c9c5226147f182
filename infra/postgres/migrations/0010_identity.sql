-- Identity: users, their login sessions (refresh-token families), refresh tokens and the issuer's
-- signing keys. Owned by functions/identity; other functions may read users (public fields only).
CREATE TABLE users (
    id            text PRIMARY KEY,                 -- UUIDv7
    username      text NOT NULL,                    -- 3-32 of [a-z0-9_.]; 'deleted:<id>' once deleted
    display_name  text NOT NULL DEFAULT '',
    avatar_url    text NOT NULL DEFAULT '',
    password_hash text NOT NULL,                    -- argon2id, PHC string; '' once deleted
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    banned_at     timestamptz,                      -- mirror of System:parley#banned (Keto is the source)
    deleted_at    timestamptz                       -- soft delete keeps references from other tables valid
);
CREATE UNIQUE INDEX users_username ON users (username);

-- One login on one device = one refresh-token family; its id is the "sid" claim of access tokens.
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id),
    device_id    text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,              -- absolute lifetime of the family
    revoked_at   timestamptz,
    revoked_reason text
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are opaque; only their SHA-256 is stored. A token is used once: presenting a used
-- one revokes its whole family (theft signal, RFC 9700).
CREATE TABLE refresh_tokens (
    hash       bytea PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,                -- idle lifetime
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- ES256 signing keys of the OIDC issuer. A key is published (JWKS) from creation, signs from
-- active_from on, and is published until retire_at, after every token it signed has expired.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    alg         text NOT NULL,
    private_key bytea NOT NULL,                     -- PKCS#8 DER, AES-256-GCM sealed when encrypted
    encrypted   boolean NOT NULL,
    public_jwk  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    active_from timestamptz NOT NULL,
    retire_at   timestamptz
);
