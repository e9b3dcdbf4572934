-- The newest runs of every integration and flow, newest first (the QB Connect page).
SELECT id, integration_id, flow, dag_id, dag_run_id, task_id, status, counts, started_at, finished_at
FROM (
    SELECT r.*,
           row_number() OVER (PARTITION BY r.integration_id, r.flow ORDER BY r.started_at DESC, r.id DESC) AS n
    FROM sync.run r
) ranked
WHERE n <= %(per_flow)s
ORDER BY integration_id, flow, started_at DESC, id DESC
