-- Held until the refreshed token is committed: a second worker waits here, then sees it fresh.
SELECT ciphertext, version FROM sync.oauth_token WHERE realm_id = %(realm_id)s FOR UPDATE
