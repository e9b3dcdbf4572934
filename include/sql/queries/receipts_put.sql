-- Eligible payments (the CRM side of the reconciliation); QBO's side is kept when already known.
INSERT INTO sync.receipt AS r (integration_id, source_id, txn_day, currency, crm_amount, doc_number, email, run_id)
SELECT %(integration_id)s, u.source_id, u.txn_day, u.currency, u.crm_amount, u.doc_number, u.email, %(run_id)s
FROM unnest(%(source_ids)s::text[], %(txn_days)s::date[], %(currencies)s::text[], %(amounts)s::numeric[],
            %(doc_numbers)s::text[], %(emails)s::text[])
     AS u (source_id, txn_day, currency, crm_amount, doc_number, email)
ON CONFLICT (integration_id, source_id) DO UPDATE
   SET txn_day = excluded.txn_day, currency = excluded.currency, crm_amount = excluded.crm_amount,
       doc_number = excluded.doc_number, email = excluded.email, run_id = excluded.run_id, updated_at = now()
