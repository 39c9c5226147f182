-- Mute (v1.1): a member's own mute of a conversation. NULL or a past time = not muted;
-- 9999-12-31T23:59:59Z = until unmuted. Read by GET /v1/conversations (muted_until while in the
-- future) and by the push function (a muted member gets no push unless mentioned).
ALTER TABLE conversation_members ADD COLUMN muted_until timestamptz;
