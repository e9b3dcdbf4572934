-- CRM invoices → QBO invoices, their payments and voids.

-- Staged HighLevel invoices (same shape as every staging table, see 0002). ``status`` is the CRM's,
-- or 'deleted' once a held invoice can no longer be read.
CREATE TABLE staging.crm_invoice (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id         text        NOT NULL,
    raw               jsonb       NOT NULL,
    invoice_number    text,
    status            text,
    currency          text,
    total             numeric,
    amount_paid       numeric,
    email             text,
    contact_id        text,
    issue_date        text,
    created_at_source timestamptz,
    updated_at_source timestamptz,
    payload_hash      text        NOT NULL,
    staged_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX crm_invoice_status_idx ON staging.crm_invoice (integration_id, status);

-- Every CRM invoice the flow decided to write, with what QBO holds for it: the reconciliation and
-- the state each load plans from. crm_* are the CRM's figures at the last transform; qbo_* what
-- QBO answered; paid_total is what this sync's non-voided QBO payments add up to.
CREATE TABLE sync.invoice (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id      text        NOT NULL,
    txn_day        date        NOT NULL,
    currency       text        NOT NULL,
    crm_status     text        NOT NULL,
    crm_total      numeric     NOT NULL,
    crm_paid       numeric     NOT NULL DEFAULT 0,
    doc_number     text        NOT NULL,   -- the DocNumber in use (the CRM number, or its alternative)
    doc_note       text,                   -- why the DocNumber is not the CRM's number, when it is not
    doc_taken      boolean     NOT NULL DEFAULT false,  -- the CRM number belongs to another QBO invoice
    email          text,
    payload_hash   text,                   -- the staged row this state was planned from
    customer_id    text,
    invoice_id     text,
    qbo_total      numeric,
    qbo_voided     boolean     NOT NULL DEFAULT false,
    paid_total     numeric     NOT NULL DEFAULT 0,
    tries          integer     NOT NULL DEFAULT 0,
    run_id         bigint      REFERENCES sync.run (id) ON DELETE SET NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id)
);
CREATE INDEX invoice_day_idx ON sync.invoice (integration_id, txn_day, currency);
CREATE INDEX invoice_run_idx ON sync.invoice (run_id);
CREATE INDEX invoice_qbo_idx ON sync.invoice (integration_id, invoice_id);

-- One row per payment step: the cumulative paid amount it brings QBO to. The step (invoice,
-- paid_total) fixes the PaymentRefNum and the bId, so a retry or replay never pays twice.
CREATE TABLE sync.invoice_payment (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id      text        NOT NULL,
    paid_total     numeric     NOT NULL,
    amount         numeric     NOT NULL,   -- this step's difference
    ref_num        text        NOT NULL,   -- PaymentRefNum
    invoice_id     text        NOT NULL,   -- the QBO invoice paid
    payment_id     text,
    sync_token     text,
    voided         boolean     NOT NULL DEFAULT false,
    tries          integer     NOT NULL DEFAULT 0,
    run_id         bigint      REFERENCES sync.run (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id, paid_total)
);
CREATE UNIQUE INDEX invoice_payment_ref_idx ON sync.invoice_payment (integration_id, ref_num);
CREATE INDEX invoice_payment_id_idx ON sync.invoice_payment (integration_id, payment_id);
CREATE INDEX invoice_payment_run_idx ON sync.invoice_payment (run_id);
