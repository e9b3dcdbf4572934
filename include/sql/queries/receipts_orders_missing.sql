-- Order ids of staged order payments not yet receipted whose order has not been read.
SELECT DISTINCT t.raw ->> 'entityId' AS order_id
FROM staging.crm_transaction AS t
LEFT JOIN sync.receipt AS r ON r.integration_id = t.integration_id AND r.source_id = t.source_id
WHERE t.integration_id = %(integration_id)s
  AND t.raw ->> 'entityType' = 'order' AND t.raw ->> 'entityId' IS NOT NULL
  AND t.created_at_source >= %(connected_at)s
  AND r.receipt_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM staging.crm_order AS o
                  WHERE o.integration_id = t.integration_id AND o.source_id = t.raw ->> 'entityId')
ORDER BY 1
