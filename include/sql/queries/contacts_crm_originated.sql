-- QBO customers this integration created itself from CRM contacts (receipts, invoices): sending
-- them back to the CRM would only echo the contact they came from.
SELECT customer_id AS source_id, email
FROM sync.qbo_customer_claim
WHERE integration_id = %(integration_id)s AND customer_id = ANY(%(source_ids)s::text[])
