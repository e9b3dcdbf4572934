UPDATE sync.refund SET tries = tries + 1, run_id = %(run_id)s, updated_at = now()
 WHERE integration_id = %(integration_id)s AND doc_number = %(doc_number)s
