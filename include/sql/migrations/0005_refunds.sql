-- CRM refunds of receipted payments → QBO RefundReceipts against the original sales receipt.

-- What the CRM says was refunded (crm_refunded) and how much of it QBO holds as refund receipts
-- (refunded_total); the receipt's own deposit account and item, which every refund reuses.
ALTER TABLE sync.receipt
    ADD COLUMN crm_refunded       numeric NOT NULL DEFAULT 0,
    ADD COLUMN refunded_total     numeric NOT NULL DEFAULT 0,
    ADD COLUMN deposit_account_id text,
    ADD COLUMN item_id            text,
    ADD COLUMN refund_receipt_id  text;   -- the latest refund receipt

-- One row per refund step: the cumulative CRM refunded amount it brings QBO to. The step (payment,
-- refunded_total) fixes the DocNumber and the requestid, so a retry or replay never refunds twice.
CREATE TABLE sync.refund (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id         text        NOT NULL,
    refunded_total    numeric     NOT NULL,
    amount            numeric     NOT NULL,   -- this step's difference
    doc_number        text        NOT NULL,
    receipt_id        text        NOT NULL,   -- the sales receipt refunded
    payload_hash      text,
    refund_receipt_id text,
    qbo_total         numeric,
    tries             integer     NOT NULL DEFAULT 0,
    run_id            bigint      REFERENCES sync.run (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id, refunded_total)
);
CREATE UNIQUE INDEX refund_doc_number_idx ON sync.refund (integration_id, doc_number);
