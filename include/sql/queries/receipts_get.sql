SELECT source_id, receipt_id, customer_id, qbo_total, tries, doc_number
FROM sync.receipt
WHERE integration_id = %(integration_id)s AND source_id = ANY(%(source_ids)s::text[])
