-- Every attempt at one source row, oldest first, with the Airflow run and task that made it.
SELECT created_at, status, attempt, reason, target_id, dag_id, dag_run_id, task_id
FROM sync.row_event
WHERE integration_id = %(integration_id)s AND flow = %(flow)s AND source_id = %(source_id)s
ORDER BY id
