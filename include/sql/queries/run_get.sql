SELECT * FROM sync.run WHERE id = %(run_id)s
