"""The stack every real DAG run test uses: the emulators, the sync store and a migrated Airflow home
of the test's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qbo_crm_sync.local.stack import Stack
from tests.dags.airflow_runs import airflow


@pytest.fixture
def stack(db_url: str, qbo: str, highlevel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    s = Stack(database_url=db_url, fernet_key=Fernet.generate_key().decode(), qbo_url=qbo, highlevel_url=highlevel)
    for key, value in s.env().items():
        monkeypatch.setenv(key, value)
    migrated = airflow(dict(os.environ), "db", "migrate")
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    return s
