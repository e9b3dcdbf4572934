-- A pending batch keeps only the items whose outcome is still unknown (the others were found in QBO).
UPDATE sync.qbo_batch SET items = %(items)s, request_id = %(request_id)s
WHERE id = %(id)s AND state = 'pending'
RETURNING id
