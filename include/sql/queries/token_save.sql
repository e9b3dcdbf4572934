INSERT INTO sync.oauth_token AS t (integration_id, ciphertext, access_expires_at, refresh_expires_at)
VALUES (%(integration_id)s, %(ciphertext)s, %(access_expires_at)s, %(refresh_expires_at)s)
ON CONFLICT (integration_id) DO UPDATE SET
    ciphertext = EXCLUDED.ciphertext,
    access_expires_at = EXCLUDED.access_expires_at,
    refresh_expires_at = EXCLUDED.refresh_expires_at,
    version = t.version + 1,
    updated_at = now()
RETURNING version
