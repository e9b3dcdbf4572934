UPDATE sync.qbo_batch SET state = %(state)s, done_at = now() WHERE id = %(id)s AND state = 'pending'
RETURNING id
