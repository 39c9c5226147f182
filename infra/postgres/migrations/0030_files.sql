-- Files (issue 6): the files function creates pending rows, the upload function verifies the
-- uploaded object and moves each row once to ready or rejected. 0020 created the minimal table the
-- send function needs; this adds what verification and downloads need.
ALTER TABLE files
    ADD COLUMN IF NOT EXISTS thumbnail_key text,        -- "<object_key>.thumb" once a thumbnail is stored
    ADD COLUMN IF NOT EXISTS reject_reason text,        -- why verification failed (also in im.file.rejected)
    ADD COLUMN IF NOT EXISTS etag          text,        -- ETag of the object that was verified
    ADD COLUMN IF NOT EXISTS verified_at   timestamptz; -- when the row left pending

-- The upload function finds a file by the key of the bucket notification.
CREATE UNIQUE INDEX IF NOT EXISTS files_object_key ON files (object_key);
CREATE INDEX IF NOT EXISTS files_owner ON files (owner_id, created_at);

-- GET /v1/files/{id} lets members of a conversation where the file was sent download it: it looks
-- the file's messages up by file_id (revoked messages have file_id cleared, so they grant nothing).
CREATE INDEX IF NOT EXISTS messages_file_id ON messages (file_id) WHERE file_id IS NOT NULL;
