-- Erasure (v1.1): DELETE /v1/users/me with erase:true blanks every message the user sent. An
-- erased message keeps its envelope (id, conversation_id, seq, sender_id, client_msg_id, type,
-- created_at) and loses its content in storage, as a revoked one does; erased_at says when.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check CHECK (status IN ('normal', 'revoked', 'erased'));
ALTER TABLE messages ADD COLUMN erased_at timestamptz;
