-- Staged payments of these customers, or with these ids.
SELECT source_id, raw, customer_id, total_amt, deleted, created_at_source, payload_hash
FROM staging.qbo_payment
WHERE integration_id = %(integration_id)s
  AND (customer_id = ANY(%(customer_ids)s::text[]) OR source_id = ANY(%(payment_ids)s::text[]))
