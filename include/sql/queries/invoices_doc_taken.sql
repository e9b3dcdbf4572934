-- The DocNumber was refused as another QBO invoice's: the next create takes the alternative.
UPDATE sync.invoice
SET doc_number = %(doc_number)s, doc_note = %(doc_note)s, doc_taken = true, updated_at = now()
WHERE integration_id = %(integration_id)s AND source_id = %(source_id)s
