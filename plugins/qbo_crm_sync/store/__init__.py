"""Postgres access for the sync: migrations, integrations, tokens, watermarks, staging, tracking.

Functions take a psycopg 3 connection opened by :func:`qbo_crm_sync.store.db.connect` (rows as
dicts) and run in the caller's transaction unless they say otherwise. SQL text lives in
include/sql; values are always bound as parameters.
"""
