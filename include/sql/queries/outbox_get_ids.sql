-- These rows' queued payloads for one flow (a dry run plans the chunk it just queued).
SELECT source_id, payload, payload_hash, match_key
FROM sync.outbox
WHERE integration_id = %(integration_id)s AND flow = %(flow)s AND source_id = ANY(%(source_ids)s::text[])
ORDER BY queued_at, source_id
