-- QBO refused a write of the invoice (its create, update or void): the next try carries a new bId
-- (and so a new requestid), or QBO would replay its refusal instead of looking again.
UPDATE sync.invoice SET tries = tries + 1, run_id = %(run_id)s, updated_at = now()
WHERE integration_id = %(integration_id)s AND source_id = %(source_id)s
