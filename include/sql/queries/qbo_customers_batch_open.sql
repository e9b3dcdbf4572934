INSERT INTO sync.qbo_batch (integration_id, purpose, request_id, items, sends)
VALUES (%(integration_id)s, %(purpose)s, %(request_id)s, %(items)s, 1)
RETURNING id
