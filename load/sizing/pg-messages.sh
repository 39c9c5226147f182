#!/usr/bin/env bash
# Bytes per stored message in PostgreSQL, measured (docs/scaling.md): starts a throwaway PostgreSQL
# in a temporary directory, applies infra/postgres/migrations, fills `messages` (and one `outbox`
# row per message, as the send function writes) the way production would (UUIDv7 ids in time
# order, seqs per conversation, a random client_msg_id per message), vacuums, and prints the bytes
# per message of the heap, TOAST and every index.
#
#   load/sizing/pg-messages.sh                 # 1,000,000 messages over 20,000 conversations
#   N=200000 CONVS=5000 TEXT=60 load/sizing/pg-messages.sh
#
# TEXT is the mean text length in characters (uniform over 0.5x..1.5x, ASCII): an assumption.
# One message in 20 is an image with a file_id and a small JSON payload.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000} CONVS=${CONVS:-20000} TEXT=${TEXT:-60} PORT=${PORT:-55439}
run=()
[ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
dir=$(mktemp -d /tmp/pg-sizing.XXXXXX)
chmod 777 "$dir"
stop() { "${run[@]}" pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap stop EXIT
"${run[@]}" initdb -D "$dir/data" -U postgres -A trust >/dev/null
"${run[@]}" pg_ctl -D "$dir/data" -l "$dir/log" -w \
	-o "-p $PORT -k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c max_wal_size=4GB" start >/dev/null
psql=(psql -h "$dir" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
for f in infra/postgres/migrations/*.sql; do "${psql[@]}" -f "$f" >/dev/null; done
"${psql[@]}" -v n="$N" -v convs="$CONVS" -v text="$TEXT" <<'SQL'
-- A UUIDv7 string of a timestamp (what messaging.NewID makes).
CREATE FUNCTION uuid7(ts timestamptz) RETURNS text LANGUAGE sql AS $$
  SELECT regexp_replace(lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' ||
         substr(md5(random()::text), 1, 3) || substr('89ab', 1 + floor(random() * 4)::int, 1) ||
         substr(md5(random()::text), 1, 15), '(.{8})(.{4})(.{4})(.{4})(.{12})', '\1-\2-\3-\4-\5') $$;
SET session_replication_role = replica; -- no FK checks: users/conversations rows do not change the sizes
INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, type, text, file_id, payload, created_at)
SELECT uuid7(ts), conv, row_number() OVER (PARTITION BY conv ORDER BY i), sender, gen_random_uuid()::text,
       CASE WHEN i % 20 = 0 THEN 'image' ELSE 'text' END,
       CASE WHEN i % 20 = 0 THEN '' ELSE left(repeat(md5(i::text), 8), (:text * (0.5 + random()))::int) END,
       CASE WHEN i % 20 = 0 THEN gen_random_uuid()::text END,
       CASE WHEN i % 20 = 0 THEN '{"width":1024,"height":768}'::json END, ts
FROM (SELECT i, timestamptz '2026-01-01' + i * interval '10 ms' AS ts,
             'c' || lpad((hashint4(i) % :convs + :convs)::text, 35, '0') AS conv,
             'u' || lpad((hashint4(i + 7) % (2 * :convs) + 2 * :convs)::text, 35, '0') AS sender
      FROM generate_series(1, :n) i) s
ORDER BY ts;
-- The fact the send function writes with each message (a 734-byte CloudEvent for a 60-character
-- text, measured with events.New), marked published as the outbox relay leaves it.
INSERT INTO outbox (id, topic, event, created_at, published_at)
SELECT uuid7(m.created_at), 'knative-broker-parley-default',
       jsonb_build_object('specversion', '1.0', 'id', uuid7(m.created_at), 'source', '/parley/send',
         'type', 'im.message.created.v1', 'subject', m.conversation_id, 'datacontenttype', 'application/json',
         'time', m.created_at, 'correlationid', gen_random_uuid()::text, 'partitionkey', m.conversation_id,
         'data', jsonb_build_object('message', jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id,
           'seq', m.seq, 'sender_id', m.sender_id, 'client_msg_id', m.client_msg_id, 'type', m.type,
           'text', m.text, 'status', 'normal', 'created_at', m.created_at))),
       m.created_at, m.created_at
FROM messages m ORDER BY m.created_at;
VACUUM ANALYZE messages;
VACUUM ANALYZE outbox;
SQL
"${psql[@]}" -F ' ' <<'SQL'
SELECT 'rows', count(*), round(avg(length(text))) FROM messages;
SELECT rel, pg_size_pretty(bytes), round(bytes::numeric / (SELECT count(*) FROM messages), 1) AS bytes_per_message
FROM (SELECT 'messages heap' AS rel, pg_relation_size('messages') AS bytes
      UNION ALL SELECT 'messages toast', coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class WHERE relname = 'messages'
      UNION ALL SELECT 'index ' || indexrelid::regclass, pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = 'messages'::regclass
      UNION ALL SELECT 'messages total', pg_total_relation_size('messages')
      UNION ALL SELECT 'outbox total', pg_total_relation_size('outbox')) t;
SQL
