-- QBO's answer to an update (or a void): its TotalAmt, and whether it is voided.
UPDATE sync.invoice
SET qbo_total = %(qbo_total)s, qbo_voided = %(voided)s, run_id = %(run_id)s, updated_at = now()
WHERE integration_id = %(integration_id)s AND source_id = %(source_id)s
RETURNING *
