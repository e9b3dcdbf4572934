UPDATE sync.run
SET status = %(status)s, counts = %(counts)s, timings = %(timings)s, finished_at = now()
WHERE id = %(run_id)s
RETURNING id
