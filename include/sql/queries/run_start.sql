-- A retried Airflow task (same dag run) reuses its run row and marks it running again.
INSERT INTO sync.run AS r (integration_id, flow, dag_id, dag_run_id, task_id)
VALUES (%(integration_id)s, %(flow)s, %(dag_id)s, %(dag_run_id)s, %(task_id)s)
ON CONFLICT (dag_id, dag_run_id, integration_id, flow) DO UPDATE SET
    task_id = EXCLUDED.task_id,
    status = 'running',
    finished_at = NULL
RETURNING id
