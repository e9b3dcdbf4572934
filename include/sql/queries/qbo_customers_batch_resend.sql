UPDATE sync.qbo_batch SET sends = sends + 1 WHERE id = %(id)s
