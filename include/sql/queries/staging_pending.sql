-- Staged rows a flow should (re)process: never recorded, changed since their last outcome
-- (hash differs, which also revives rejected and dead rows), or failed and still retryable.
SELECT s.*, rs.status AS last_status, rs.attempts AS last_attempts, rs.reason AS last_reason
FROM {table} AS s
LEFT JOIN sync.row_status AS rs
       ON rs.integration_id = s.integration_id AND rs.flow = %(flow)s AND rs.source_id = s.source_id
WHERE s.integration_id = %(integration_id)s
  AND (rs.source_id IS NULL
       OR rs.status = 'failed'
       OR rs.payload_hash IS DISTINCT FROM s.payload_hash)
ORDER BY s.source_id
LIMIT %(limit)s
