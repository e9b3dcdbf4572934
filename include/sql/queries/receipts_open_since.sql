-- The creation time of the oldest payment, created since %(since)s, that has a sales receipt and is
-- not yet refunded in full in QBO: how far back the refund look-back has to read (NULL: nothing to).
SELECT min(s.created_at_source) AS oldest
FROM sync.receipt AS r
JOIN staging.crm_transaction AS s ON s.integration_id = r.integration_id AND s.source_id = r.source_id
WHERE r.integration_id = %(integration_id)s AND r.receipt_id IS NOT NULL
  AND r.refunded_total < r.crm_amount AND s.created_at_source >= %(since)s
