SELECT status, count(*) AS n FROM sync.row_status
WHERE integration_id = %(integration_id)s AND flow = %(flow)s
GROUP BY status
