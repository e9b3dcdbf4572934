-- The review requests of these customers, or made for these payments.
SELECT * FROM sync.review_request
WHERE integration_id = %(integration_id)s
  AND (customer_id = ANY(%(customer_ids)s::text[]) OR payment_id = ANY(%(payment_ids)s::text[]))
