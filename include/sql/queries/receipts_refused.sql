UPDATE sync.receipt SET tries = tries + 1, run_id = %(run_id)s, updated_at = now()
 WHERE integration_id = %(integration_id)s AND source_id = %(source_id)s
