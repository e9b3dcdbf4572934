-- Forget an integration's token; answers the deleted row so the caller can revoke that grant.
DELETE FROM sync.oauth_token WHERE integration_id = %(integration_id)s
RETURNING ciphertext, version
