-- Connect (or reconnect) a location to a realm. A reconnect keeps the original connected_at, so
-- nothing created while the pair was connected or awaiting reauth is skipped; after a disconnect
-- the pair starts afresh from now. An explicit connected_at always wins. Names confirmed at this
-- connect replace the old ones; who connected is recorded, and a past disconnect forgotten.
INSERT INTO sync.integration AS i (location_id, realm_id, connected_at, status, status_reason,
                                   company_name, location_name, connected_by)
VALUES (%(location_id)s, %(realm_id)s, COALESCE(%(connected_at)s, now()), 'connected', NULL,
        %(company_name)s, %(location_name)s, %(connected_by)s)
ON CONFLICT (location_id, realm_id) DO UPDATE SET
    connected_at = COALESCE(
        %(connected_at)s,
        CASE WHEN i.status = 'disconnected' THEN now() ELSE i.connected_at END
    ),
    status = 'connected',
    status_reason = NULL,
    company_name = COALESCE(EXCLUDED.company_name, i.company_name),
    location_name = COALESCE(EXCLUDED.location_name, i.location_name),
    connected_by = COALESCE(EXCLUDED.connected_by, i.connected_by),
    disconnected_by = NULL,
    disconnected_at = NULL,
    updated_at = now()
RETURNING *
