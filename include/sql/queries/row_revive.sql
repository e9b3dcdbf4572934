-- A person decided dead rows deserve another go: make them failed with a fresh attempt count.
UPDATE sync.row_status
SET status = 'failed', attempts = 0, reason = %(reason)s, updated_at = now()
WHERE integration_id = %(integration_id)s AND flow = %(flow)s AND status = 'dead'
  AND (%(source_ids)s::text[] IS NULL OR source_id = ANY(%(source_ids)s::text[]))
RETURNING source_id
