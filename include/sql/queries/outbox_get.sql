-- Payloads waiting for a flow, oldest first; dead rows are never offered again.
SELECT o.source_id, o.payload, o.payload_hash, o.match_key
FROM sync.outbox AS o
LEFT JOIN sync.row_status AS rs
       ON rs.integration_id = o.integration_id AND rs.flow = o.flow AND rs.source_id = o.source_id
WHERE o.integration_id = %(integration_id)s AND o.flow = %(flow)s
  AND (rs.status IS NULL OR rs.status <> 'dead' OR rs.payload_hash IS DISTINCT FROM o.payload_hash)
ORDER BY o.queued_at, o.source_id
LIMIT %(limit)s
