-- Connect (or reconnect) a location to a realm. A reconnect keeps the original connected_at, so
-- nothing created while the pair was connected or awaiting reauth is skipped; after a disconnect
-- the pair starts afresh from now. An explicit connected_at always wins.
INSERT INTO sync.integration AS i (location_id, realm_id, connected_at, status, status_reason)
VALUES (%(location_id)s, %(realm_id)s, COALESCE(%(connected_at)s, now()), 'connected', NULL)
ON CONFLICT (location_id, realm_id) DO UPDATE SET
    connected_at = COALESCE(
        %(connected_at)s,
        CASE WHEN i.status = 'disconnected' THEN now() ELSE i.connected_at END
    ),
    status = 'connected',
    status_reason = NULL,
    updated_at = now()
RETURNING *
