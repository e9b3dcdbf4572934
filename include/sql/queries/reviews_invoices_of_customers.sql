-- Every mirrored invoice of these customers (deleted ones too), oldest first.
SELECT invoice_id, customer_id, doc_number, txn_date, total_amt, balance, payment_ids, deleted
FROM sync.qbo_invoice_mirror
WHERE integration_id = %(integration_id)s AND customer_id = ANY(%(customer_ids)s::text[])
ORDER BY customer_id, txn_date, length(invoice_id), invoice_id
