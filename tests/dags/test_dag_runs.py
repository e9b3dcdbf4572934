"""Each DAG runs for real (`airflow dags test`) against the emulators and the sync store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from qbo_crm_sync.local.sandbox import crm_location
from qbo_crm_sync.local.stack import HL_TOKEN, Stack
from qbo_crm_sync.store import db

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "locDagRunTest000000001"


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("airflow"))
    return subprocess.run([exe, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


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


def test_contacts_dag_run_loads_new_customers(stack: Stack) -> None:
    from emulators.seed_data import qbo_customers
    from qbo_crm_sync.integrations_registry import connect

    crm_location(stack.highlevel_url, LOCATION, token=HL_TOKEN)  # the token highlevel_default carries
    integration = connect(LOCATION, prompt=None, out=lambda _: None)
    time.sleep(1.05)
    requests.post(f"{stack.qbo_url}/_admin/seed", timeout=30, json={
        "realmId": integration.realm_id, "Customer": qbo_customers(12, seed=3, bad_share=0)}).raise_for_status()
    time.sleep(1.05)

    result = airflow(dict(os.environ), "dags", "test", "qbo_customers_to_crm")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    contacts = requests.get(f"{stack.highlevel_url}/_admin/entities/contacts", params={"locationId": LOCATION},
                            timeout=10).json()["items"]
    assert len(contacts) == 12
    with db.connect(stack.database_url) as conn:
        run = conn.execute("SELECT * FROM sync.run WHERE dag_id = 'qbo_customers_to_crm'").fetchone()
        events = conn.execute("SELECT DISTINCT dag_run_id, task_id FROM sync.row_event").fetchall()
    assert run["status"] == "success" and run["counts"]["extracted"] == 12
    assert set(run["timings"]) == {"extract_s", "transform_s", "load_s", "report_s"}
    assert [e["task_id"] for e in events] == ["load"] and events[0]["dag_run_id"] == run["dag_run_id"]


def test_receipts_dag_run_creates_one_receipt_per_eligible_payment(stack: Stack) -> None:
    from emulators.seed_data import hl_transactions
    from qbo_crm_sync.integrations_registry import connect

    crm_location(stack.highlevel_url, LOCATION, token=HL_TOKEN)  # the token highlevel_default carries
    integration = connect(LOCATION, prompt=None, out=lambda _: None)
    requests.post(f"{stack.highlevel_url}/_admin/seed", timeout=30,
                  json={"transactions": hl_transactions(LOCATION, 8, corpus=False)}).raise_for_status()

    result = airflow(dict(os.environ), "dags", "test", "crm_payments_to_qbo")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    receipts = requests.get(f"{stack.qbo_url}/_admin/entities/{integration.realm_id}/SalesReceipt", timeout=10).json()
    with db.connect(stack.database_url) as conn:
        run = conn.execute("SELECT * FROM sync.run WHERE dag_id = 'crm_payments_to_qbo'").fetchone()
    assert run["status"] == "success", run
    assert len(receipts["SalesReceipt"]) == 8
