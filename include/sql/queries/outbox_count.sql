SELECT count(*) AS n FROM sync.outbox WHERE integration_id = %(integration_id)s AND flow = %(flow)s
