-- The current state of a flow's rows, newest first; status and source id are optional filters.
SELECT source_id, status, attempts, reason, target_id, updated_at
FROM sync.row_status
WHERE integration_id = %(integration_id)s AND flow = %(flow)s
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(source_id)s::text IS NULL OR source_id = %(source_id)s)
ORDER BY updated_at DESC
LIMIT %(limit)s
