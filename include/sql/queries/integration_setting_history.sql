-- The recorded settings changes of an integration (those touching one key, when given), oldest first.
SELECT id, changed_at, changed_by, changes
FROM sync.integration_setting_change
WHERE integration_id = %(integration_id)s AND (%(key)s::text IS NULL OR changes ? %(key)s::text)
ORDER BY changed_at, id
