-- QBO refused to void this step's payment: the next try carries a new bId (and so a new requestid),
-- or QBO would replay its refusal instead of looking again.
UPDATE sync.invoice_payment SET tries = tries + 1, run_id = %(run_id)s, updated_at = now()
WHERE integration_id = %(integration_id)s AND ref_num = %(ref_num)s
