-- Held until the refreshed token is committed: a second worker waits here, then sees it fresh.
-- One row per integration, so two integrations of the same company never wait for each other.
SELECT ciphertext, version FROM sync.oauth_token WHERE integration_id = %(integration_id)s FOR UPDATE
