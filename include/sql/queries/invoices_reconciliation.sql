-- The invoices this run touched, per day (the invoice's TxnDate) and currency: the CRM's totals and
-- amounts paid against QBO's (TotalAmt from QBO's own answers; paid = this sync's non-voided QBO
-- payments). Void and deleted CRM invoices count apart. "mismatched" counts what the tracking does not
-- explain: invoices loaded whose QBO total or paid amount differs from the CRM's, and invoices voided in
-- the CRM that QBO still holds open although their row says loaded.
SELECT i.txn_day, i.currency,
       count(*)                                                                        AS invoices,
       count(*) FILTER (WHERE NOT i.crm_void)                                          AS billed,
       coalesce(sum(i.crm_total) FILTER (WHERE NOT i.crm_void), 0)                     AS crm_total,
       coalesce(sum(least(i.crm_paid, i.crm_total)) FILTER (WHERE NOT i.crm_void), 0)  AS crm_paid,
       count(*) FILTER (WHERE i.invoice_id IS NOT NULL AND NOT i.qbo_voided)           AS in_qbo,
       coalesce(sum(i.qbo_total) FILTER (WHERE i.invoice_id IS NOT NULL AND NOT i.qbo_voided), 0) AS qbo_total,
       coalesce(sum(i.paid_total) FILTER (WHERE NOT i.qbo_voided), 0)                  AS qbo_paid,
       count(*) FILTER (WHERE i.crm_void)                                              AS crm_voided,
       count(*) FILTER (WHERE i.qbo_voided)                                            AS qbo_voided,
       count(*) FILTER (WHERE i.invoice_id IS NULL AND NOT i.crm_void)                 AS outstanding,
       count(*) FILTER (WHERE rs.status IN ('failed', 'dead'))                         AS failing,
       count(*) FILTER (WHERE rs.status = 'loaded' AND i.invoice_id IS NOT NULL AND (
                  (NOT i.crm_void AND NOT i.qbo_voided
                   AND (i.qbo_total IS DISTINCT FROM i.crm_total OR i.paid_total <> least(i.crm_paid, i.crm_total)))
                  OR (i.crm_void AND NOT i.qbo_voided)))                               AS mismatched
FROM (SELECT *, crm_status IN ('void', 'deleted') AS crm_void FROM sync.invoice
      WHERE integration_id = %(integration_id)s AND run_id = %(run_id)s) AS i
LEFT JOIN sync.row_status AS rs
       ON rs.integration_id = i.integration_id AND rs.flow = 'invoices' AND rs.source_id = i.source_id
GROUP BY i.txn_day, i.currency
ORDER BY i.txn_day, i.currency
