-- Staged QBO customers. Every staging table follows the same shape so that the generic upsert
-- (store/staging.py) and pending() work on it unchanged:
--   integration_id + source_id  natural key (the primary key the upsert conflicts on)
--   raw                         the object exactly as the API returned it
--   <typed columns>             the few fields flows filter or join on
--   payload_hash                hash of raw; an unchanged hash leaves the row untouched
--   staged_at                   when the row was last inserted or changed
CREATE TABLE staging.qbo_customer (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id         text        NOT NULL,
    raw               jsonb       NOT NULL,
    display_name      text,
    email             text,
    created_at_source timestamptz,
    updated_at_source timestamptz,
    payload_hash      text        NOT NULL,
    staged_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX qbo_customer_email_idx ON staging.qbo_customer (integration_id, lower(email));
CREATE INDEX qbo_customer_staged_idx ON staging.qbo_customer (integration_id, staged_at);
