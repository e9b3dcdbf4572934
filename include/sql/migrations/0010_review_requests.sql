-- Review requests: QBO payments staged with the company's invoices, the history of every settings
-- change, and one review request per (integration, customer), ever.

-- Staged QBO payments (same shape as every staging table, see 0002). A payment deleted in QBO is
-- kept as CDC's tombstone with deleted = true; a voided one carries QBO's zeroed copy.
CREATE TABLE staging.qbo_payment (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id         text        NOT NULL,
    raw               jsonb       NOT NULL,
    customer_id       text,
    total_amt         numeric,
    deleted           boolean     NOT NULL DEFAULT false,
    created_at_source timestamptz,                         -- when QBO recorded the payment
    updated_at_source timestamptz,
    payload_hash      text        NOT NULL,
    staged_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX qbo_payment_customer_idx ON staging.qbo_payment (integration_id, customer_id);

-- A local copy of the company's invoices, whoever created them, kept current by the same CDC call
-- that reads the payments: which invoice is each customer's first, and what is still owed on it,
-- cost no metered read of their own.
CREATE TABLE sync.qbo_invoice_mirror (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    invoice_id        text        NOT NULL,
    customer_id       text,
    doc_number        text,
    txn_date          date,
    total_amt         numeric,
    balance           numeric,
    payment_ids       text[]      NOT NULL DEFAULT '{}',  -- payments linked to it (LinkedTxn)
    deleted           boolean     NOT NULL DEFAULT false,
    updated_at_source timestamptz,
    seen_at           timestamptz NOT NULL DEFAULT now(),  -- when a listing or CDC last showed it
    PRIMARY KEY (integration_id, invoice_id)
);
CREATE INDEX qbo_invoice_mirror_customer_idx
    ON sync.qbo_invoice_mirror (integration_id, customer_id, txn_date, invoice_id);

-- Every change of an integration's settings: when, by whom, the keys changed and their new values.
-- What a setting was at a past moment is the latest change of it at or before that moment.
CREATE TABLE sync.integration_setting_change (
    id             bigserial   PRIMARY KEY,
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    changed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by     text,
    changes        jsonb       NOT NULL CHECK (jsonb_typeof(changes) = 'object')
);
CREATE INDEX integration_setting_change_idx ON sync.integration_setting_change (integration_id, changed_at);

-- Settings made before this history existed count from now on: no review request is sent for a
-- payment recorded before it, whatever the box said (nobody can tell when it was ticked).
INSERT INTO sync.integration_setting_change (integration_id, changed_by, changes)
SELECT id, 'settings as they were when the history began', settings
FROM sync.integration
WHERE settings <> '{}'::jsonb;

-- One review request per customer, ever. The row is written and committed before the message is
-- sent ('sending'); it says 'sent' once the CRM has accepted the message (or once the CRM showed
-- it had, for a send whose answer was lost), 'undelivered' when the CRM kept it but did not
-- deliver it (do-not-disturb), and 'not_sent' when it provably did not go out (the CRM refused the
-- request, or showed no such message after a lost answer): only then may it be sent again. A
-- 'sending' row found later is a send in doubt: the CRM is asked before anything else happens.
CREATE TABLE sync.review_request (
    integration_id  bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    customer_id     text        NOT NULL,
    payment_id      text        NOT NULL,
    invoice_id      text        NOT NULL,
    state           text        NOT NULL CHECK (state IN ('sending', 'sent', 'undelivered', 'not_sent')),
    contact_id      text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('Email', 'SMS')),
    address         text,                   -- the email or phone it goes to
    marker          text        NOT NULL,   -- carried by the message, to recognise it in the CRM
    sends           integer     NOT NULL DEFAULT 1,
    message_id      text,
    conversation_id text,
    tagged          boolean     NOT NULL DEFAULT false,
    reason          text,
    claimed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_run_id  bigint      REFERENCES sync.run (id) ON DELETE SET NULL,
    settled_at      timestamptz,
    PRIMARY KEY (integration_id, customer_id)
);
