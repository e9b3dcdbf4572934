SELECT id, request_id, items, sends, created_at
FROM sync.qbo_batch
WHERE integration_id = %(integration_id)s AND purpose = %(purpose)s AND state = 'pending'
ORDER BY id
