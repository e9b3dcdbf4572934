-- Per day and currency of the refund look-back (since %(since_day)s) and any day touched by the run:
-- the CRM total of eligible payments against the QBO total
-- of the receipts created for them (TotalAmt from QBO's own answers). Payments without a receipt
-- are counted apart, by their row status, so a gap the tracking already explains (rejected,
-- failed, not yet loaded) is told from one it does not (a receipt whose total differs). Refunds are
-- netted on both sides: what the CRM refunded of receipted payments against the refund receipts'
-- totals in QBO; a refund not yet in QBO is counted apart.
SELECT r.txn_day, r.currency,
       bool_or(r.run_id = %(run_id)s)                             AS touched,
       count(*)                                                   AS payments,
       sum(r.crm_amount)                                          AS crm_total,
       count(r.receipt_id)                                        AS receipts,
       coalesce(sum(r.qbo_total), 0)                              AS qbo_total,
       coalesce(sum(r.crm_amount) FILTER (WHERE r.receipt_id IS NOT NULL), 0) AS receipted_crm_total,
       coalesce(sum(r.crm_amount) FILTER (WHERE r.receipt_id IS NULL), 0)     AS outstanding_total,
       count(*) FILTER (WHERE r.receipt_id IS NULL AND rs.status = 'rejected')               AS outstanding_rejected,
       count(*) FILTER (WHERE r.receipt_id IS NULL AND rs.status IN ('failed', 'dead'))      AS outstanding_failed,
       count(*) FILTER (WHERE r.receipt_id IS NULL AND rs.status IS DISTINCT FROM 'rejected'
                                                   AND rs.status IS DISTINCT FROM 'failed'
                                                   AND rs.status IS DISTINCT FROM 'dead')    AS outstanding_other,
       coalesce(sum(r.crm_refunded) FILTER (WHERE r.receipt_id IS NOT NULL), 0)   AS crm_refunded,
       coalesce(sum(r.refunded_total), 0)                                          AS refunded_in_qbo,
       coalesce(sum(f.qbo_refunded), 0)                                            AS qbo_refunded
FROM sync.receipt AS r
LEFT JOIN (SELECT source_id, sum(qbo_total) AS qbo_refunded
           FROM sync.refund
           WHERE integration_id = %(integration_id)s AND refund_receipt_id IS NOT NULL
           GROUP BY source_id) AS f
       ON f.source_id = r.source_id
LEFT JOIN sync.row_status AS rs
       ON rs.integration_id = r.integration_id AND rs.flow = 'receipts' AND rs.source_id = r.source_id
WHERE r.integration_id = %(integration_id)s
  AND (r.txn_day >= %(since_day)s
       OR (r.txn_day, r.currency) IN (SELECT DISTINCT t.txn_day, t.currency FROM sync.receipt AS t
                                      WHERE t.integration_id = %(integration_id)s AND t.run_id = %(run_id)s))
GROUP BY r.txn_day, r.currency
ORDER BY r.txn_day, r.currency
