-- The payment steps of these invoices, oldest first.
SELECT * FROM sync.invoice_payment
WHERE integration_id = %(integration_id)s AND source_id = ANY(%(source_ids)s::text[])
ORDER BY source_id, paid_total
