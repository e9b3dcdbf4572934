DELETE FROM sync.oauth_token WHERE realm_id = %(realm_id)s
