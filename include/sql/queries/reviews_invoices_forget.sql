-- After a full listing of the company's invoices: those it did not show are gone from QBO.
UPDATE sync.qbo_invoice_mirror SET deleted = true
WHERE integration_id = %(integration_id)s AND seen_at < %(unseen_since)s AND NOT deleted
