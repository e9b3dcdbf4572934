-- The tracked payment behind each DocNumber of a batch answer, with its staged payload hash.
SELECT r.source_id, r.doc_number, s.payload_hash
FROM sync.receipt AS r
LEFT JOIN staging.crm_transaction AS s
       ON s.integration_id = r.integration_id AND s.source_id = r.source_id
WHERE r.integration_id = %(integration_id)s AND r.doc_number = ANY(%(doc_numbers)s::text[])
