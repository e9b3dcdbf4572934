-- Invoices in QBO whose CRM invoice was voided (or deleted): the void is queued.
UPDATE sync.invoice AS i
SET crm_status = u.status, payload_hash = u.payload_hash, run_id = %(run_id)s, updated_at = now()
FROM unnest(%(source_ids)s::text[], %(statuses)s::text[], %(payload_hashes)s::text[])
     AS u (source_id, status, payload_hash)
WHERE i.integration_id = %(integration_id)s AND i.source_id = u.source_id
