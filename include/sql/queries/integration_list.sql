SELECT * FROM sync.integration
WHERE (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY id
