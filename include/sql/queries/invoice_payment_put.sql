-- A payment step (the invoice's cumulative paid amount it brings QBO to), once; each send counts a try.
-- Until QBO holds its payment, the step's amount follows what QBO still lacks.
INSERT INTO sync.invoice_payment AS p
    (integration_id, source_id, paid_total, amount, ref_num, invoice_id, run_id, tries)
VALUES (%(integration_id)s, %(source_id)s, %(paid_total)s, %(amount)s, %(ref_num)s, %(invoice_id)s, %(run_id)s, 1)
ON CONFLICT (integration_id, source_id, paid_total) DO UPDATE
   SET tries = p.tries + 1, run_id = excluded.run_id, updated_at = now(),
       amount = CASE WHEN p.payment_id IS NULL THEN excluded.amount ELSE p.amount END
RETURNING *
