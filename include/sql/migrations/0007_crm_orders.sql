-- CRM orders behind order-form payments, read where the CRM's tax is booked as tax in QBO: the
-- order holds the items, discount, tax and shipping that the payment transaction does not.
CREATE TABLE staging.crm_order (
    integration_id    bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_id         text        NOT NULL,   -- the order id (the transaction's entityId)
    raw               jsonb       NOT NULL,
    amount            numeric,
    payload_hash      text        NOT NULL,
    staged_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_id)
);
