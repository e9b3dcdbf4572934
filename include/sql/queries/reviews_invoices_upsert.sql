-- Mirror invoices from QBO answers (a full listing, CDC or a query); an older version never wins.
-- A CDC tombstone (deleted) keeps what was known of the invoice and marks it deleted.
INSERT INTO sync.qbo_invoice_mirror AS m
       (integration_id, invoice_id, customer_id, doc_number, txn_date, total_amt, balance, payment_ids,
        deleted, updated_at_source, seen_at)
SELECT %(integration_id)s, u.invoice_id, u.customer_id, u.doc_number, u.txn_date, u.total_amt, u.balance,
       string_to_array(u.payment_ids, ','), u.deleted, u.updated_at_source, %(seen_at)s
FROM unnest(%(invoice_ids)s::text[], %(customer_ids)s::text[], %(doc_numbers)s::text[], %(txn_dates)s::date[],
            %(totals)s::numeric[], %(balances)s::numeric[], %(payment_ids)s::text[], %(deleted)s::boolean[],
            %(updated)s::timestamptz[])
     AS u (invoice_id, customer_id, doc_number, txn_date, total_amt, balance, payment_ids, deleted, updated_at_source)
ON CONFLICT (integration_id, invoice_id) DO UPDATE
   SET customer_id = COALESCE(excluded.customer_id, m.customer_id),
       doc_number = CASE WHEN excluded.deleted THEN m.doc_number ELSE excluded.doc_number END,
       txn_date = COALESCE(excluded.txn_date, m.txn_date),
       total_amt = COALESCE(excluded.total_amt, m.total_amt),
       balance = COALESCE(excluded.balance, m.balance),
       payment_ids = CASE WHEN excluded.deleted THEN m.payment_ids ELSE excluded.payment_ids END,
       deleted = excluded.deleted, updated_at_source = excluded.updated_at_source, seen_at = excluded.seen_at
 WHERE m.updated_at_source IS NULL OR excluded.updated_at_source IS NULL
    OR excluded.updated_at_source >= m.updated_at_source
