-- One settings change: the keys that changed, their new values, when and by whom.
INSERT INTO sync.integration_setting_change (integration_id, changed_by, changes)
VALUES (%(integration_id)s, %(changed_by)s, %(changes)s)
