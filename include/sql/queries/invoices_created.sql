-- A QBO invoice exists for this CRM invoice (from QBO's answer, or found by its DocNumber).
UPDATE sync.invoice
SET invoice_id = %(invoice_id)s, customer_id = %(customer_id)s, qbo_total = %(qbo_total)s,
    doc_number = %(doc_number)s, run_id = %(run_id)s, updated_at = now()
WHERE integration_id = %(integration_id)s AND source_id = %(source_id)s
RETURNING *
