"""Fixtures: one PostgreSQL database and one process per emulator for the whole session.

Function-scoped fixtures (``db_url``, ``qbo``, ``highlevel``) hand each test a clean state.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import psycopg
import pytest
import requests

from tests.support import emulator_process, test_database

# Airflow reads these at import: keep its home out of the user's ~/airflow during tests.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="qbo-crm-sync-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with test_database() as url:
        from qbo_crm_sync.store.migrate import migrate

        migrate(url)
        yield url


@pytest.fixture
def db_url(database_url: str) -> str:
    """The migrated test database, emptied of rows (schema kept)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
            "WHERE schemaname IN ('sync', 'staging') AND tablename <> 'schema_migration'"
        ).fetchall()
        if tables:
            conn.execute("TRUNCATE " + ", ".join(t[0] for t in tables) + " RESTART IDENTITY CASCADE")
    return database_url


@pytest.fixture(scope="session")
def qbo_emulator() -> Iterator[str]:
    with emulator_process("emulators.quickbooks") as base:
        yield base


@pytest.fixture(scope="session")
def highlevel_emulator() -> Iterator[str]:
    with emulator_process("emulators.highlevel") as base:
        yield base


@pytest.fixture
def qbo(qbo_emulator: str) -> str:
    """Base URL of a freshly reset QuickBooks emulator."""
    requests.post(f"{qbo_emulator}/_admin/reset", timeout=5).raise_for_status()
    return qbo_emulator


@pytest.fixture
def highlevel(highlevel_emulator: str) -> str:
    """Base URL of a freshly reset HighLevel emulator."""
    requests.post(f"{highlevel_emulator}/_admin/reset", timeout=5).raise_for_status()
    return highlevel_emulator
