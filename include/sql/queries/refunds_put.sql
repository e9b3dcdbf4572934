-- A refund step about to be sent: its amount is the difference to what QBO holds already.
INSERT INTO sync.refund AS f (integration_id, source_id, refunded_total, amount, doc_number, receipt_id,
                              payload_hash, run_id)
VALUES (%(integration_id)s, %(source_id)s, %(refunded_total)s, %(amount)s, %(doc_number)s, %(receipt_id)s,
        %(payload_hash)s, %(run_id)s)
ON CONFLICT (integration_id, source_id, refunded_total) DO UPDATE
   SET amount = excluded.amount, payload_hash = excluded.payload_hash, run_id = excluded.run_id,
       updated_at = now()
RETURNING tries
