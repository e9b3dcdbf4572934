-- A worker stuck behind a hung refresh gives up instead of waiting for ever.
SET LOCAL lock_timeout = '60s'
