-- A location syncs with one realm at a time: connecting it to a new realm retires the old pair.
UPDATE sync.integration
SET status = 'disconnected', status_reason = %(reason)s, disconnected_by = %(by)s,
    disconnected_at = now(), updated_at = now()
WHERE location_id = %(location_id)s AND realm_id <> %(realm_id)s AND status <> 'disconnected'
RETURNING *
