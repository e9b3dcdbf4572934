-- Staged invoices whose last known CRM status is open: each must show in this cycle's listings or be read.
SELECT source_id, raw FROM staging.crm_invoice
WHERE integration_id = %(integration_id)s AND status = ANY(%(statuses)s::text[])
