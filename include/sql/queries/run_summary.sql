SELECT status, reason, count(*) AS n FROM sync.row_event
WHERE run_id = %(run_id)s
GROUP BY status, reason
ORDER BY status, n DESC, reason NULLS FIRST
