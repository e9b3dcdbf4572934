-- Record a batch of outcomes (parallel arrays) and append one event per outcome.
-- attempts counts tries of the current payload: it grows while the row keeps failing (or is
-- dead) with an unchanged payload_hash and restarts at 1 otherwise. A failure that reaches max_attempts
-- becomes 'dead'. A NULL payload_hash in the input keeps the stored one.
WITH input AS (
    SELECT *
    FROM unnest(%(source_ids)s::text[], %(statuses)s::text[], %(reasons)s::text[],
                %(target_ids)s::text[], %(payload_hashes)s::text[])
         AS i(source_id, status, reason, target_id, payload_hash)
),
upserted AS (
    INSERT INTO sync.row_status AS rs
        (integration_id, flow, source_id, status, reason, attempts, target_id, payload_hash, last_run_id)
    SELECT %(integration_id)s::bigint, %(flow)s::text, source_id,
           CASE WHEN status = 'failed' AND 1 >= %(max_attempts)s::integer THEN 'dead' ELSE status END,
           reason, 1, target_id, payload_hash, %(run_id)s::bigint
    FROM input
    ON CONFLICT (integration_id, flow, source_id) DO UPDATE SET
        attempts = CASE WHEN rs.status IN ('failed', 'dead')
                             AND rs.payload_hash IS NOT DISTINCT FROM COALESCE(EXCLUDED.payload_hash, rs.payload_hash)
                        THEN rs.attempts + 1 ELSE 1 END,
        status = CASE WHEN EXCLUDED.status = 'failed'
                           AND (CASE WHEN rs.status IN ('failed', 'dead')
                                          AND rs.payload_hash IS NOT DISTINCT FROM COALESCE(EXCLUDED.payload_hash, rs.payload_hash)
                                     THEN rs.attempts + 1 ELSE 1 END) >= %(max_attempts)s::integer
                      THEN 'dead' ELSE EXCLUDED.status END,
        reason = EXCLUDED.reason,
        target_id = COALESCE(EXCLUDED.target_id, rs.target_id),
        payload_hash = COALESCE(EXCLUDED.payload_hash, rs.payload_hash),
        last_run_id = EXCLUDED.last_run_id,
        updated_at = now()
    RETURNING source_id, status, reason, attempts, target_id
),
events AS (
    INSERT INTO sync.row_event
        (integration_id, flow, source_id, status, reason, attempt, target_id, run_id, dag_id, dag_run_id, task_id)
    SELECT %(integration_id)s::bigint, %(flow)s::text, u.source_id, u.status, u.reason, u.attempts, u.target_id,
           r.id, r.dag_id, r.dag_run_id, r.task_id
    FROM upserted AS u
    LEFT JOIN sync.run AS r ON r.id = %(run_id)s::bigint
)
SELECT status, count(*) AS n FROM upserted GROUP BY status
