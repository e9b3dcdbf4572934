-- What became of a claimed review request: sent, undelivered, or not sent (may be sent again).
UPDATE sync.review_request
SET state = %(state)s, message_id = COALESCE(%(message_id)s, message_id),
    conversation_id = COALESCE(%(conversation_id)s, conversation_id), reason = %(reason)s,
    settled_at = clock_timestamp()
WHERE integration_id = %(integration_id)s AND customer_id = %(customer_id)s AND state = 'sending'
RETURNING *
