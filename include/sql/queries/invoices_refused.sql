-- QBO refused the invoice's create: the next try carries a new bId (and so a new requestid).
UPDATE sync.invoice SET tries = tries + 1, run_id = %(run_id)s, updated_at = now()
WHERE integration_id = %(integration_id)s AND source_id = %(source_id)s
