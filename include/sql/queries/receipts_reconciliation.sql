-- Per day and currency touched by a run: the CRM total of eligible payments against the QBO total
-- of the receipts created for them (TotalAmt from QBO's own answers). Payments without a receipt
-- are counted apart, by their row status, so a gap the tracking already explains (rejected,
-- failed, not yet loaded) is told from one it does not (a receipt whose total differs).
SELECT r.txn_day, r.currency,
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
                                                   AND rs.status IS DISTINCT FROM 'dead')    AS outstanding_other
FROM sync.receipt AS r
LEFT JOIN sync.row_status AS rs
       ON rs.integration_id = r.integration_id AND rs.flow = 'receipts' AND rs.source_id = r.source_id
WHERE r.integration_id = %(integration_id)s
  AND (r.txn_day, r.currency) IN (SELECT DISTINCT t.txn_day, t.currency FROM sync.receipt AS t
                                  WHERE t.integration_id = %(integration_id)s AND t.run_id = %(run_id)s)
GROUP BY r.txn_day, r.currency
ORDER BY r.txn_day, r.currency
