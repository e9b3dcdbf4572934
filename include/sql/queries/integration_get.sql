SELECT * FROM sync.integration WHERE id = %(id)s
