SELECT * FROM sync.integration
WHERE (%(location_id)s::text IS NULL OR location_id = %(location_id)s)
  AND (%(realm_id)s::text IS NULL OR realm_id = %(realm_id)s)
ORDER BY id
