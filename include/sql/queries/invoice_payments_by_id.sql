-- Payment steps by the QBO payment made for them.
SELECT * FROM sync.invoice_payment
WHERE integration_id = %(integration_id)s AND payment_id = ANY(%(payment_ids)s::text[])
