-- Per day and currency touched by a run: the CRM total of eligible payments against the QBO total
-- of the receipts created for them (TotalAmt from QBO's own answers).
SELECT r.txn_day, r.currency,
       count(*)                                  AS payments,
       count(r.receipt_id)                       AS receipts,
       sum(r.crm_amount)                         AS crm_total,
       coalesce(sum(r.qbo_total), 0)             AS qbo_total
FROM sync.receipt AS r
WHERE r.integration_id = %(integration_id)s
  AND (r.txn_day, r.currency) IN (SELECT DISTINCT t.txn_day, t.currency FROM sync.receipt AS t
                                  WHERE t.integration_id = %(integration_id)s AND t.run_id = %(run_id)s)
GROUP BY r.txn_day, r.currency
ORDER BY r.txn_day, r.currency
