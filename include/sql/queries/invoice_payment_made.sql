-- QBO holds the payment of this step (created, found by its PaymentRefNum, or voided since): the step
-- row follows, and the invoice's paid_total is what its non-voided payments add up to.
WITH step AS (
    UPDATE sync.invoice_payment
    SET payment_id = %(payment_id)s, sync_token = %(sync_token)s, voided = %(voided)s,
        run_id = %(run_id)s, updated_at = now()
    WHERE integration_id = %(integration_id)s AND ref_num = %(ref_num)s
    RETURNING *
)
UPDATE sync.invoice AS i
SET paid_total = coalesce((SELECT sum(p.amount) FROM sync.invoice_payment AS p
                           WHERE p.integration_id = i.integration_id AND p.source_id = i.source_id
                             AND p.payment_id IS NOT NULL AND NOT p.voided AND p.ref_num <> %(ref_num)s), 0)
                 + coalesce((SELECT CASE WHEN s.voided THEN 0 ELSE s.amount END FROM step AS s), 0),
    run_id = %(run_id)s, updated_at = now()
FROM step
WHERE i.integration_id = step.integration_id AND i.source_id = step.source_id
RETURNING i.*
