-- For each lower-cased email, the QBO customer that already owns it in the CRM: one loaded under
-- it (staging keeps emails trimmed and lower-cased), or one queued for loading ahead of it.
SELECT DISTINCT ON (key) key, source_id, target_id
FROM (
    SELECT lower(s.email) AS key, s.source_id, rs.target_id, 0 AS rank, rs.updated_at AS at
    FROM staging.qbo_customer AS s
    JOIN sync.row_status AS rs
      ON rs.integration_id = s.integration_id AND rs.flow = %(flow)s AND rs.source_id = s.source_id
    WHERE s.integration_id = %(integration_id)s AND rs.status = 'loaded'
      AND lower(s.email) = ANY(%(keys)s::text[])
    UNION ALL
    SELECT o.match_key, o.source_id, NULL, 1, o.queued_at
    FROM sync.outbox AS o
    WHERE o.integration_id = %(integration_id)s AND o.flow = %(flow)s
      AND o.match_key = ANY(%(keys)s::text[])
) AS owners
ORDER BY key, rank, at
