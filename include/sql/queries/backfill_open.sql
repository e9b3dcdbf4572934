-- The backfill of this source, created on first sight. A finished one starts over from the top
-- (every row is then recognised as unchanged); a paused or interrupted one keeps its position.
INSERT INTO sync.backfill AS b (integration_id, flow, source_key, source, rows_total, last_run_id)
VALUES (%(integration_id)s, %(flow)s, %(source_key)s, %(source)s, %(rows_total)s, %(run_id)s)
ON CONFLICT (integration_id, flow, source_key) DO UPDATE SET
    source = EXCLUDED.source,
    rows_total = COALESCE(EXCLUDED.rows_total, b.rows_total),
    last_run_id = EXCLUDED.last_run_id,
    status = 'running',
    status_reason = NULL,
    resume_at = NULL,
    rows_done = CASE WHEN b.status = 'done' THEN 0 ELSE b.rows_done END,
    position = CASE WHEN b.status = 'done' THEN '{}'::jsonb ELSE b.position END,
    counts = CASE WHEN b.status = 'done' THEN '{}'::jsonb ELSE b.counts END,
    crm_requests = CASE WHEN b.status = 'done' THEN 0 ELSE b.crm_requests END,
    updated_at = now()
RETURNING *
