SELECT integration_id, access_expires_at, refresh_expires_at, version, updated_at
FROM sync.oauth_token WHERE integration_id = %(integration_id)s
