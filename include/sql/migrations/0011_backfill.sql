-- Backfills of historical customers into the CRM (a CSV export, or QuickBooks itself): one row per
-- integration, flow and source (a file by its content, or a QuickBooks filter). It holds how far
-- the backfill got, so a run stopped by the CRM's daily budget (or anything else) resumes there, and
-- what it found and spent, so a person can see when it will finish.
CREATE TABLE sync.backfill (
    id             bigserial PRIMARY KEY,
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    flow           text        NOT NULL,
    source_key     text        NOT NULL,    -- "csv:<sha256 of the file>" or "qbo:<filter>"
    source         jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- file name, size, shape, encoding / query
    status         text        NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'paused', 'done', 'failed')),
    status_reason  text,
    rows_total     bigint,
    rows_done      bigint      NOT NULL DEFAULT 0,
    position       jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- where to go on: byte offset and line, or QBO time
    counts         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    crm_requests   bigint      NOT NULL DEFAULT 0,
    eta            timestamptz,
    resume_at      timestamptz,
    last_run_id    bigint      REFERENCES sync.run (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (integration_id, flow, source_key)
);
CREATE INDEX backfill_recent_idx ON sync.backfill (integration_id, flow, updated_at DESC);
