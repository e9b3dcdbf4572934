-- Which CRM invoices these QBO invoices were made for.
SELECT * FROM sync.invoice
WHERE integration_id = %(integration_id)s AND invoice_id = ANY(%(invoice_ids)s::text[])
