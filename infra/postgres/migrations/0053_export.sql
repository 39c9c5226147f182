-- Data export (v1.1): GET /v1/users/me/export streams every message the caller sent, oldest first.
-- This index serves that scan in order (no sort of a user's whole history) and erasure's lookup
-- of a sender's messages.
CREATE INDEX messages_sender_created ON messages (sender_id, created_at, id);
