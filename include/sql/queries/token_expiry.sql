SELECT realm_id, access_expires_at, refresh_expires_at, version, updated_at
FROM sync.oauth_token WHERE realm_id = %(realm_id)s
