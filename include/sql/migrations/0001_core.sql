-- Core bookkeeping of the sync: integrations, tokens, watermarks, runs, per-row state, entity map.
-- sync.schema_migration itself is created by the runner (queries/migration_bootstrap.sql) because it
-- must exist before the first file is recorded.

CREATE SCHEMA IF NOT EXISTS sync;
CREATE SCHEMA IF NOT EXISTS staging;

-- One connected pair: a CRM location and a QBO company (realm).
CREATE TABLE sync.integration (
    id            bigserial PRIMARY KEY,
    location_id   text        NOT NULL,
    realm_id      text        NOT NULL,
    connected_at  timestamptz NOT NULL DEFAULT now(),
    status        text        NOT NULL DEFAULT 'connected'
                  CHECK (status IN ('connected', 'needs_reauth', 'disconnected')),
    status_reason text,
    -- Only the keys an operator changed; readers merge them over the defaults in code.
    settings      jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (location_id, realm_id)
);

-- Per-realm OAuth tokens, Fernet-encrypted; the row lock serialises refresh-token rotation.
CREATE TABLE sync.oauth_token (
    realm_id           text PRIMARY KEY,
    ciphertext         bytea       NOT NULL,
    access_expires_at  timestamptz,
    refresh_expires_at timestamptz,
    version            integer     NOT NULL DEFAULT 1,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- How far each extract stream has read; moved only after the data it covers is staged.
CREATE TABLE sync.watermark (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    stream         text        NOT NULL,
    value          timestamptz,
    state          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, stream)
);

-- One row per (Airflow run, integration, flow); a retried task reuses it. Runs started outside
-- Airflow carry NULL ids, which UNIQUE treats as distinct, so each gets its own row.
CREATE TABLE sync.run (
    id             bigserial PRIMARY KEY,
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    flow           text        NOT NULL,
    dag_id         text,
    dag_run_id     text,
    task_id        text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text        NOT NULL DEFAULT 'running',
    counts         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    timings        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (dag_id, dag_run_id, integration_id, flow)
);
CREATE INDEX run_recent_idx ON sync.run (integration_id, flow, started_at DESC);

-- The one visible state of every source row per flow.
CREATE TABLE sync.row_status (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    flow           text        NOT NULL,
    source_id      text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('loaded', 'rejected', 'failed', 'dead', 'skipped')),
    reason         text,
    attempts       integer     NOT NULL DEFAULT 0,
    target_id      text,
    payload_hash   text,
    last_run_id    bigint,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, flow, source_id)
);
CREATE INDEX row_status_by_status_idx ON sync.row_status (integration_id, flow, status);

-- Append-only history of every outcome, for audit and for "what happened to row X".
CREATE TABLE sync.row_event (
    id             bigserial PRIMARY KEY,
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    flow           text        NOT NULL,
    source_id      text        NOT NULL,
    status         text        NOT NULL,
    reason         text,
    attempt        integer     NOT NULL,
    target_id      text,
    run_id         bigint REFERENCES sync.run (id) ON DELETE CASCADE,
    dag_id         text,
    dag_run_id     text,
    task_id        text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX row_event_row_idx ON sync.row_event (integration_id, flow, source_id, created_at);
CREATE INDEX row_event_run_idx ON sync.row_event (run_id);

-- Which target object a source object became; consulted before every create.
CREATE TABLE sync.entity_map (
    integration_id bigint      NOT NULL REFERENCES sync.integration (id) ON DELETE CASCADE,
    source_system  text        NOT NULL,
    source_type    text        NOT NULL,
    source_id      text        NOT NULL,
    target_system  text        NOT NULL,
    target_type    text        NOT NULL,
    target_id      text        NOT NULL,
    payload_hash   text,
    sync_token     text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, source_type, source_id, target_type)
);
CREATE INDEX entity_map_target_idx ON sync.entity_map (integration_id, target_type, target_id);

-- Great Expectations results, one row per suite run.
CREATE TABLE sync.validation_result (
    id         bigserial PRIMARY KEY,
    run_id     bigint      REFERENCES sync.run (id) ON DELETE CASCADE,
    suite      text        NOT NULL,
    success    boolean     NOT NULL,
    statistics jsonb       NOT NULL DEFAULT '{}'::jsonb,
    results    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX validation_result_run_idx ON sync.validation_result (run_id);
