-- QBO customers this integration created itself from CRM contacts (receipts, invoices): sending
-- them back to the CRM would only echo the contact they came from. A create whose answer was lost
-- has a claim without a customer id yet: a customer carrying that claim's email is recognised by it.
SELECT u.source_id, c.email
FROM unnest(%(source_ids)s::text[], %(emails)s::text[]) AS u (source_id, email)
JOIN sync.qbo_customer_claim AS c
  ON c.integration_id = %(integration_id)s
 AND (c.customer_id = u.source_id OR (c.customer_id IS NULL AND c.email = u.email))
