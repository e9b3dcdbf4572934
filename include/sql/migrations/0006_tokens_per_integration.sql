-- OAuth tokens belong to an integration, not to a QuickBooks company: two CRM locations connected
-- to the same company each hold their own grant, so disconnecting (revoking) one never touches
-- the other. The integration also remembers whom it talks to and who changed it.

ALTER TABLE sync.integration
    ADD COLUMN company_name    text,          -- QuickBooks CompanyName, confirmed with the new token
    ADD COLUMN location_name   text,          -- the CRM location's name, confirmed with its token
    ADD COLUMN connected_by    text,          -- who connected (or last reconnected) it
    ADD COLUMN disconnected_by text,          -- who disconnected it (while disconnected)
    ADD COLUMN disconnected_at timestamptz;

ALTER TABLE sync.oauth_token ADD COLUMN integration_id bigint REFERENCES sync.integration (id) ON DELETE CASCADE;

-- A company's one token row goes to the integration most likely to be using it: a connected one
-- first, then one awaiting reauthorization, the most recently changed among them.
UPDATE sync.oauth_token t
SET integration_id = (
    SELECT i.id FROM sync.integration i
    WHERE i.realm_id = t.realm_id
    ORDER BY i.status = 'connected' DESC, i.status = 'needs_reauth' DESC, i.updated_at DESC, i.id DESC
    LIMIT 1
);

-- The other live integrations of that company had only been borrowing that grant: they need one
-- of their own, and say so instead of failing at their next refresh.
UPDATE sync.integration i
SET status = 'needs_reauth',
    status_reason = 'tokens are now kept per integration and this company''s grant went to integration '
                    || t.integration_id || ': reconnect to give this one its own',
    updated_at = now()
FROM sync.oauth_token t
WHERE t.realm_id = i.realm_id AND t.integration_id <> i.id AND i.status = 'connected';

-- A token no integration names cannot be used by any run.
DELETE FROM sync.oauth_token WHERE integration_id IS NULL;

ALTER TABLE sync.oauth_token DROP CONSTRAINT oauth_token_pkey;
ALTER TABLE sync.oauth_token DROP COLUMN realm_id;
ALTER TABLE sync.oauth_token ALTER COLUMN integration_id SET NOT NULL;
ALTER TABLE sync.oauth_token ADD PRIMARY KEY (integration_id);
