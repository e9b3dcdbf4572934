-- A setting's value at a past moment: its latest recorded change at or before that moment.
SELECT changes -> %(key)s AS value, changed_at, changed_by
FROM sync.integration_setting_change
WHERE integration_id = %(integration_id)s AND changes ? %(key)s AND changed_at <= %(at)s
ORDER BY changed_at DESC, id DESC
LIMIT 1
