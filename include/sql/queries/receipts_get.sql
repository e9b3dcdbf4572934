SELECT source_id, receipt_id, customer_id, qbo_total, tries, doc_number, currency, crm_amount,
       crm_refunded, refunded_total, deposit_account_id, item_id, refund_receipt_id
FROM sync.receipt
WHERE integration_id = %(integration_id)s AND source_id = ANY(%(source_ids)s::text[])
