-- A local copy of the CRM location's contacts (who holds which email and phone, their names and
-- tags), loaded in full once and then refreshed by dateUpdated, and kept current by every write the
-- contacts flow makes. The contacts flow decides from it, before writing, whether a QBO customer's
-- email or phone already belongs to someone in the CRM.
CREATE TABLE sync.crm_contact_mirror (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    contact_id     text        NOT NULL,
    email          text,        -- trimmed and lower-cased (the contact keeps its own case)
    phone          text,        -- E.164 when it parses (as the transform writes QBO phones), else as given
    phone_digits   text,        -- the digits only: what HighLevel matches phones on
    first_name     text,
    last_name      text,
    tags           text[]      NOT NULL DEFAULT '{}',
    date_added     timestamptz,
    date_updated   timestamptz,
    seen_at        timestamptz NOT NULL DEFAULT now(),  -- when a listing or a write last showed it
    PRIMARY KEY (integration_id, contact_id)
);
CREATE INDEX crm_contact_mirror_email_idx ON sync.crm_contact_mirror (integration_id, email);
CREATE INDEX crm_contact_mirror_phone_idx ON sync.crm_contact_mirror (integration_id, phone);
CREATE INDEX crm_contact_mirror_digits_idx ON sync.crm_contact_mirror (integration_id, phone_digits);
