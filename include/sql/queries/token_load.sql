SELECT ciphertext, version FROM sync.oauth_token WHERE integration_id = %(integration_id)s
