-- Validated target payloads waiting to be loaded. The transform step fills it, the load step
-- drains it: a row leaves once it is loaded, rejected or dead, and stays while it is failed so
-- the next run retries it without extracting or transforming again.
CREATE TABLE sync.outbox (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    flow           text        NOT NULL,
    source_id      text        NOT NULL,
    payload        jsonb       NOT NULL,
    payload_hash   text        NOT NULL,   -- hash of the staged source row the payload came from
    match_key      text,                   -- what the target matches on (e.g. a lower-cased email)
    run_id         bigint      REFERENCES sync.run (id) ON DELETE SET NULL,
    queued_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, flow, source_id)
);
CREATE INDEX outbox_match_key_idx ON sync.outbox (integration_id, flow, match_key);
