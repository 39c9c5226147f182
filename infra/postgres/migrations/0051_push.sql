-- Push (v1.1): the devices a user registered for pushes while no socket of theirs is open, and the
-- platform's one VAPID key pair (RFC 8292), generated once by the first push process that starts.

-- One row per (user, device_id); registering the same device_id again replaces it. webpush rows
-- hold the subscription (endpoint, p256dh, auth), fcm/apns rows the provider's token. A device a
-- push service reports gone (404/410, UNREGISTERED) is deleted by the push function.
CREATE TABLE push_devices (
    user_id    text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_id  text NOT NULL,
    platform   text NOT NULL CHECK (platform IN ('webpush', 'fcm', 'apns')),
    token      text NOT NULL DEFAULT '',
    endpoint   text NOT NULL DEFAULT '',
    p256dh     text NOT NULL DEFAULT '',
    auth       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, device_id)
);

-- The VAPID application server key: one row, so every process signs with the same key and
-- GET /v1/push/vapid-public-key answers the same everywhere. private_key is the PKCS#8 DER, sealed
-- with PUSH_KEY_ENCRYPTION_KEY (AES-256-GCM) when encrypted, as identity seals its signing keys.
CREATE TABLE push_vapid_keys (
    id          smallint PRIMARY KEY CHECK (id = 1),
    private_key bytea NOT NULL,
    encrypted   boolean NOT NULL,
    public_key  text NOT NULL,              -- base64url (no padding) of the 65-byte uncompressed point
    created_at  timestamptz NOT NULL DEFAULT now()
);
