"""Fixtures: one PostgreSQL database and one process per emulator for the whole session.

Function-scoped fixtures (``db_url``, ``qbo``, ``highlevel``) hand each test a clean state.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

# Airflow reads these at import. Tests always get a home of their own, whatever the caller exported
# (the Makefile's AIRFLOW_HOME is the local stack's): never the repository's .airflow, never ~/airflow.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="qbo-crm-sync-airflow-")
atexit.register(shutil.rmtree, os.environ["AIRFLOW_HOME"], ignore_errors=True)
# Nor the local stack's databases, should the caller's shell point at them (`local env`).
for _stack_variable in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "SYNC_DATABASE_URL"):
    os.environ.pop(_stack_variable, None)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import psycopg  # noqa: E402 - after Airflow's environment is set
import pytest  # noqa: E402
import requests  # noqa: E402

from tests.support import emulator_process, test_database  # noqa: E402


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
