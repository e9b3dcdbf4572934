-- The CRM side of invoices queued for writing. Until the invoice exists in QBO its DocNumber follows
-- the CRM number, unless that number turned out to be another QBO invoice's; QBO's side is kept.
INSERT INTO sync.invoice AS i
    (integration_id, source_id, txn_day, currency, crm_status, crm_total, crm_paid, doc_number, doc_note, email,
     payload_hash, run_id)
SELECT %(integration_id)s, u.source_id, u.txn_day, u.currency, u.status, u.total, u.paid, u.doc_number, u.doc_note,
       u.email, u.payload_hash, %(run_id)s
FROM unnest(%(source_ids)s::text[], %(txn_days)s::date[], %(currencies)s::text[], %(statuses)s::text[],
            %(totals)s::numeric[], %(paids)s::numeric[], %(doc_numbers)s::text[], %(doc_notes)s::text[],
            %(emails)s::text[], %(payload_hashes)s::text[])
     AS u (source_id, txn_day, currency, status, total, paid, doc_number, doc_note, email, payload_hash)
ON CONFLICT (integration_id, source_id) DO UPDATE
   SET txn_day = excluded.txn_day, currency = excluded.currency, crm_status = excluded.crm_status,
       crm_total = excluded.crm_total, crm_paid = excluded.crm_paid, email = excluded.email,
       payload_hash = excluded.payload_hash, run_id = excluded.run_id, updated_at = now(),
       doc_number = CASE WHEN i.invoice_id IS NULL AND NOT i.doc_taken THEN excluded.doc_number ELSE i.doc_number END,
       doc_note = CASE WHEN i.invoice_id IS NULL AND NOT i.doc_taken THEN excluded.doc_note ELSE i.doc_note END
