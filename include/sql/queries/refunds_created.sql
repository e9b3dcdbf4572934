-- A refund receipt QBO created: the step is done and the payment's QBO refunded total moves up to it.
WITH step AS (
    UPDATE sync.refund
       SET refund_receipt_id = %(refund_receipt_id)s, qbo_total = %(qbo_total)s, run_id = %(run_id)s,
           updated_at = now()
     WHERE integration_id = %(integration_id)s AND doc_number = %(doc_number)s
    RETURNING integration_id, source_id, refunded_total
)
UPDATE sync.receipt AS r
   SET refunded_total = GREATEST(r.refunded_total, step.refunded_total),
       refund_receipt_id = %(refund_receipt_id)s, run_id = %(run_id)s, updated_at = now()
  FROM step
 WHERE r.integration_id = step.integration_id AND r.source_id = step.source_id
