UPDATE sync.receipt
   SET receipt_id = %(receipt_id)s, customer_id = %(customer_id)s, qbo_total = %(qbo_total)s,
       deposit_account_id = %(deposit_account_id)s, item_id = %(item_id)s,
       run_id = %(run_id)s, updated_at = now()
 WHERE integration_id = %(integration_id)s AND source_id = %(source_id)s
