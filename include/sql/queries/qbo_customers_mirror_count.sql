SELECT count(*) AS n FROM sync.qbo_customer_mirror WHERE integration_id = %(integration_id)s
