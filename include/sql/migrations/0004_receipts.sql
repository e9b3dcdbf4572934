-- CRM payments → QBO sales receipts, and the QBO customer resolution shared with the invoice flow.

-- Staged HighLevel payment transactions (same shape as every staging table, see 0002).
CREATE TABLE staging.crm_transaction (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id         text        NOT NULL,
    raw               jsonb       NOT NULL,
    contact_id        text,
    email             text,
    currency          text,
    amount            numeric,
    status            text,
    source_type       text,
    created_at_source timestamptz,
    updated_at_source timestamptz,
    payload_hash      text        NOT NULL,
    staged_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX crm_transaction_staged_idx ON staging.crm_transaction (integration_id, staged_at);

-- A local copy of the company's QBO customers (inactive ones too), kept current by CDC, so that
-- matching a CRM email to a customer is a join instead of a metered query.
CREATE TABLE sync.qbo_customer_mirror (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    customer_id       text        NOT NULL,
    email             text,        -- lower-cased, trimmed
    display_name      text,
    active            boolean     NOT NULL DEFAULT true,
    sync_token        text,
    updated_at_source timestamptz,
    mirrored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, customer_id)
);
CREATE INDEX qbo_customer_mirror_email_idx ON sync.qbo_customer_mirror (integration_id, email);

-- One claim per (integration, email): the only way a customer gets created, so one email never
-- yields two customers. customer_id stays NULL while the create's outcome is unknown.
CREATE TABLE sync.qbo_customer_claim (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    email          text        NOT NULL,
    display_name   text        NOT NULL,
    customer_id    text,
    tries          integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, email)
);

-- Write-ahead log of QBO batch requests: written and committed before the request is sent. A
-- 'pending' batch may have landed; it is re-sent exactly as it was (same items, same requestid,
-- so QBO answers its first answer again) before any new batch is formed.
CREATE TABLE sync.qbo_batch (
    id             bigserial PRIMARY KEY,
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    purpose        text        NOT NULL,
    request_id     text        NOT NULL,
    items          jsonb       NOT NULL,
    state          text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'refused')),
    sends          integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    done_at        timestamptz
);
CREATE INDEX qbo_batch_pending_idx ON sync.qbo_batch (integration_id, purpose, id) WHERE state = 'pending';

-- Every CRM payment eligible for a receipt, with what QBO recorded for it: the reconciliation.
CREATE TABLE sync.receipt (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id      text        NOT NULL,
    txn_day        date        NOT NULL,
    currency       text        NOT NULL,
    crm_amount     numeric     NOT NULL,
    doc_number     text        NOT NULL,
    email          text,
    customer_id    text,
    receipt_id     text,
    qbo_total      numeric,
    tries          integer     NOT NULL DEFAULT 0,
    run_id         bigint      REFERENCES sync.run (id) ON DELETE SET NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX receipt_day_idx ON sync.receipt (integration_id, txn_day, currency);
CREATE INDEX receipt_run_idx ON sync.receipt (run_id);
