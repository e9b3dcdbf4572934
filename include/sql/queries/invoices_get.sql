-- What the sync knows of these CRM invoices (the entity map's SyncToken and written hash come apart).
SELECT * FROM sync.invoice
WHERE integration_id = %(integration_id)s AND source_id = ANY(%(source_ids)s::text[])
