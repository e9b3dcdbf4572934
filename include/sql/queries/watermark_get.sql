SELECT value, state, updated_at FROM sync.watermark
WHERE integration_id = %(integration_id)s AND stream = %(stream)s
