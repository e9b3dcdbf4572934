-- The latest backfills of an integration (all flows when flow is NULL), newest first.
SELECT b.*, r.dag_id, r.dag_run_id
FROM sync.backfill AS b
LEFT JOIN sync.run AS r ON r.id = b.last_run_id
WHERE b.integration_id = %(integration_id)s AND (%(flow)s::text IS NULL OR b.flow = %(flow)s)
ORDER BY b.updated_at DESC
LIMIT %(limit)s
