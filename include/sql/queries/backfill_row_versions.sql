-- What a backfill already recorded for these source rows: their status, reason and source hash.
SELECT source_id, status, reason, payload_hash, target_id
FROM sync.row_status
WHERE integration_id = %(integration_id)s AND flow = %(flow)s AND source_id = ANY(%(source_ids)s::text[])
