SELECT source_id, refunded_total, amount, doc_number, receipt_id, payload_hash
FROM sync.refund
WHERE integration_id = %(integration_id)s AND doc_number = ANY(%(doc_numbers)s::text[])
