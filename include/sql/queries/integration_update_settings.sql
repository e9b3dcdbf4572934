-- Merge at the top level in SQL so two concurrent changes to different keys both survive.
UPDATE sync.integration
SET settings = settings || %(changes)s, updated_at = now()
WHERE id = %(id)s
RETURNING *
