INSERT INTO sync.validation_result (run_id, suite, success, statistics, results)
VALUES (%(run_id)s, %(suite)s, %(success)s, %(statistics)s, %(results)s)
RETURNING id
