"""Where the package finds its settings: environment first, Airflow connections second.

Static secrets (client id/secret, CRM token) live in Airflow connections; the store's URL and the
Fernet key for tokens at rest come from the environment so that the CLI, the tests and the DAG
tasks all read them the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from qbo_crm_sync.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_ROOT / "include" / "sql"

SYNC_DB_CONN_ID = "sync_db"
QUICKBOOKS_CONN_ID = "quickbooks_default"
HIGHLEVEL_CONN_ID = "highlevel_default"


def database_url() -> str:
    """URL of the sync store: ``SYNC_DATABASE_URL``, else the Airflow connection ``sync_db``."""
    url = os.environ.get("SYNC_DATABASE_URL")
    if url:
        return url
    try:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        return PostgresHook(postgres_conn_id=SYNC_DB_CONN_ID).get_uri()
    except Exception as exc:  # any lookup failure means the same thing to the operator
        raise ConfigurationError(
            "No sync database configured: set SYNC_DATABASE_URL (postgresql://user@host:port/db) "
            f"or an Airflow connection '{SYNC_DB_CONN_ID}' (AIRFLOW_CONN_SYNC_DB)."
        ) from exc


def fernet_key() -> str:
    """Key that encrypts OAuth tokens at rest (``SYNC_FERNET_KEY``)."""
    key = os.environ.get("SYNC_FERNET_KEY")
    if not key:
        raise ConfigurationError(
            "SYNC_FERNET_KEY is not set: tokens are stored encrypted and need a key. "
            "Generate one with `python -m qbo_crm_sync keygen` and keep it secret."
        )
    return key


IMPORT_DIR_ENV = "SYNC_IMPORT_DIR"


def import_dir() -> Path:
    """The folder CSV backfills read their files from and write their reports to
    (``SYNC_IMPORT_DIR``, default ``import/`` in the project: mounted there by docker-compose)."""
    value = os.environ.get(IMPORT_DIR_ENV)
    return Path(value).expanduser() if value else PROJECT_ROOT / "import"
