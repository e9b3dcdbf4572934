SELECT * FROM {table}
WHERE integration_id = %(integration_id)s AND staged_at >= %(since)s
ORDER BY staged_at, source_id
