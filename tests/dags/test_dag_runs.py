"""Each DAG runs for real (`airflow dags test`) against the emulators and the sync store."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import requests

from qbo_crm_sync.dag_factory import STEPS
from qbo_crm_sync.local.sandbox import crm_location
from qbo_crm_sync.local.stack import HL_TOKEN, QBO_CLIENT_ID, QBO_CLIENT_SECRET, Stack
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import Integration
from tests.dags.airflow_runs import ROOT, airflow, last_run

LOCATION = "locDagRunTest000000001"


def connect_location(stack: Stack, location_id: str, realm_id: str) -> Integration:
    """A CRM location connected to its own QBO company, through the real OAuth code flow. Each
    location's CRM token is its own: an Airflow connection per location, named in crm_conn_id."""
    from qbo_crm_sync.integrations_registry import connect

    token = crm_location(stack.highlevel_url, location_id)
    conn_id = f"highlevel_{location_id.lower()}"
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
        "conn_type": "highlevel", "password": token, "extra": {"base_url": stack.highlevel_url}})
    requests.post(f"{stack.qbo_url}/_admin/seed", json={"companies": [{"realmId": realm_id}]},
                  timeout=10).raise_for_status()
    # The emulator's consent page grants its default company: make it this location's.
    requests.post(f"{stack.qbo_url}/_admin/config", json={"default_realm": realm_id}, timeout=10).raise_for_status()
    integration = connect(location_id, prompt=None, out=lambda _: None, crm_conn_id=conn_id)
    assert integration.realm_id == realm_id and integration.settings["crm_conn_id"] == conn_id
    return integration


def revoke_at_intuit(stack: Stack, integration_id: int) -> None:
    """The company's admin disconnects the app on Intuit's side: our stored tokens stay, but are dead."""
    from qbo_crm_sync.integrations_registry import token_store

    token = token_store(stack.database_url).load(integration_id)
    assert token and token.get("refresh_token")
    requests.post(f"{stack.qbo_url}/v2/oauth2/tokens/revoke", json={"token": token["refresh_token"]},
                  auth=(QBO_CLIENT_ID, QBO_CLIENT_SECRET), timeout=10).raise_for_status()


def crm_contacts(stack: Stack, location_id: str) -> list[dict]:
    return requests.get(f"{stack.highlevel_url}/_admin/entities/contacts", params={"locationId": location_id},
                        timeout=10).json()["items"]


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
    state, tis = last_run("qbo_customers_to_crm")
    assert state == "success" and tis[("summary", -1)][0] == "success"
    label = f"integration {integration.id} ({LOCATION})"
    assert {step: tis[(step, 0)] for step in STEPS} == dict.fromkeys(STEPS, ("success", label))


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


def test_invoices_dag_run_creates_and_pays_invoices(stack: Stack) -> None:
    from emulators.seed_data import hl_invoices
    from qbo_crm_sync.integrations_registry import connect

    crm_location(stack.highlevel_url, LOCATION, token=HL_TOKEN)  # the token highlevel_default carries
    integration = connect(LOCATION, prompt=None, out=lambda _: None)
    rows = hl_invoices(LOCATION, 6, seed=4)
    rows[0] |= {"status": "paid"}  # paid in full when first seen: the invoice and its payment
    rows[1] |= {"status": "draft"}
    requests.post(f"{stack.highlevel_url}/_admin/seed", timeout=30, json={"invoices": rows}).raise_for_status()

    result = airflow(dict(os.environ), "dags", "test", "crm_invoices_to_qbo")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    base = f"{stack.qbo_url}/_admin/entities/{integration.realm_id}"
    invoices = requests.get(f"{base}/Invoice", timeout=10).json()["Invoice"]
    payments = requests.get(f"{base}/Payment", timeout=10).json()["Payment"]
    with db.connect(stack.database_url) as conn:
        run = conn.execute("SELECT * FROM sync.run WHERE dag_id = 'crm_invoices_to_qbo'").fetchone()
        skipped = conn.execute("SELECT reason FROM sync.row_status WHERE flow = 'invoices' AND status = 'skipped'"
                               ).fetchall()
    assert run["status"] == "success", run
    assert len(invoices) == 5 and len(payments) == 1
    assert payments[0]["Line"][0]["LinkedTxn"][0]["TxnType"] == "Invoice"
    assert [r["reason"] for r in skipped] == ["draft in the CRM: not synced until it is sent"]
    state, tis = last_run("crm_invoices_to_qbo")
    assert state == "success" and {step: tis[(step, 0)][0] for step in STEPS} == dict.fromkeys(STEPS, "success")


def test_one_integrations_failure_leaves_the_others_syncing(stack: Stack) -> None:
    """Three integrations; the middle one's grant was revoked at Intuit. Its extract fails (and it
    turns needs_reauth); the other two run transform, load and report and their contacts reach the
    CRM; the summary fails the run, naming the failed integration."""
    from emulators.seed_data import qbo_customers

    locations = {f"locDagRunIsolation00000{n}": f"91300000000000{n}" for n in (1, 2, 3)}
    connected = [connect_location(stack, location, realm) for location, realm in locations.items()]
    healthy, revoked = [connected[0], connected[2]], connected[1]
    time.sleep(1.05)  # customers created after the connection (second resolution)
    for n, integration in enumerate(connected):
        requests.post(f"{stack.qbo_url}/_admin/seed", timeout=30, json={
            "realmId": integration.realm_id, "Customer": qbo_customers(5 + n, seed=10 + n, bad_share=0),
        }).raise_for_status()
    revoke_at_intuit(stack, revoked.id)
    time.sleep(1.05)

    result = airflow(dict(os.environ), "dags", "test", "qbo_customers_to_crm")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "DagRun failed" in output, output[-4000:]

    state, tis = last_run("qbo_customers_to_crm")
    assert state == "failed"
    index = {label: i for (task_id, i), (_, label) in tis.items() if task_id == "extract"}
    for integration in healthy:
        i = index[f"integration {integration.id} ({integration.location_id})"]
        assert {step: tis[(step, i)][0] for step in STEPS} == dict.fromkeys(STEPS, "success"), integration
    i = index[f"integration {revoked.id} ({revoked.location_id})"]
    assert {step: tis[(step, i)][0] for step in STEPS} == {
        "extract": "failed", "transform": "upstream_failed", "load": "upstream_failed", "report": "upstream_failed"}
    assert tis[("summary", -1)][0] == "failed"
    # Each QuickBooks company by the name verified at connect time, with its realm id.
    assert revoked.company_name and revoked.company_label.endswith(f"(realm {revoked.realm_id})")
    assert (f"1 of 3 integration(s) failed: integration {revoked.id} (location {revoked.location_id}, "
            f"{revoked.company_label}): failed at extract: needs_reauth (") in output
    assert (f". synced: integration {healthy[0].id} (location {healthy[0].location_id}, {healthy[0].company_label}), "
            f"integration {healthy[1].id} (location {healthy[1].location_id}") in output

    # The world: the healthy locations hold their contacts, the revoked one none.
    for n, integration in enumerate(connected):
        expected = 0 if integration is revoked else 5 + n
        assert len(crm_contacts(stack, integration.location_id)) == expected, integration
    with db.connect(stack.database_url) as conn:
        assert integrations.get(conn, revoked.id).status == "needs_reauth"
        runs = {r["integration_id"]: r["status"] for r in conn.execute(
            "SELECT integration_id, status FROM sync.run WHERE dag_id = 'qbo_customers_to_crm'").fetchall()}
    assert runs == {healthy[0].id: "success", healthy[1].id: "success", revoked.id: "failed"}


def test_a_run_with_every_integration_skipped_fails(stack: Stack) -> None:
    """The only integration needs reauthorization: nothing syncs, and the run fails saying so rather
    than ending green with every stage skipped."""
    integration = connect_location(stack, LOCATION, "9130000000000009")
    with db.connect(stack.database_url) as conn:
        integrations.set_status(conn, integration.id, "needs_reauth", "refresh token superseded")
        conn.commit()

    result = airflow(dict(os.environ), "dags", "test", "crm_payments_to_qbo")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "DagRun failed" in output, output[-4000:]

    state, tis = last_run("crm_payments_to_qbo")
    assert state == "failed"
    assert tis[("integrations", -1)][0] == "success" and tis[("summary", -1)][0] == "failed"
    assert {step: tis[(step, -1)][0] for step in STEPS} == dict.fromkeys(STEPS, "skipped")
    assert (f"Nothing synced: no integration is connected; left out: integration {integration.id} "
            f"(location {LOCATION}) is needs_reauth: refresh token superseded") in output
    with db.connect(stack.database_url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM sync.run").fetchone()["n"] == 0


def test_csv_backfill_dag_run_with_params(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`airflow dags test` with the trigger form's values: the file in the import folder becomes contacts,
    the report and the rejected rows land beside each other."""
    import shutil

    from qbo_crm_sync.integrations_registry import connect

    imports = tmp_path / "import"
    imports.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "backfill" / "qbo_contact_list_utf8_bom.csv", imports / "export.csv")
    monkeypatch.setenv("SYNC_IMPORT_DIR", str(imports))
    crm_location(stack.highlevel_url, LOCATION, token=HL_TOKEN)
    integration = connect(LOCATION, prompt=None, out=lambda _: None)

    conf = {"integration": LOCATION, "csv_file": "export.csv", "dry_run": False, "chunk_size": 100}
    result = airflow(dict(os.environ), "dags", "test", "contacts_csv_backfill", "-c", json.dumps(conf))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    state, tis = last_run("contacts_csv_backfill")
    assert state == "success" and {t for (t, _), (s, _) in tis.items() if s == "success"} == {
        "integration", "check", "backfill", "report"}
    assert len(crm_contacts(stack, LOCATION)) == 5
    with db.connect(stack.database_url) as conn:
        run = conn.execute("SELECT * FROM sync.run WHERE dag_id = 'contacts_csv_backfill'").fetchone()
        backfill = conn.execute("SELECT * FROM sync.backfill").fetchone()
    assert run["integration_id"] == integration.id and run["counts"]["rows_loaded"] == 5
    assert backfill["status"] == "done" and backfill["rows_done"] == 7
    reports = list((imports / "reports" / "contacts_csv_backfill").iterdir())
    assert len(reports) == 1 and {p.name for p in reports[0].iterdir()} == {"report.md", "report.json", "rejected.csv"}

    refused = airflow(dict(os.environ), "dags", "test", "contacts_csv_backfill", "-c",
                      json.dumps({**conf, "csv_file": "../../etc/passwd"}))
    assert refused.returncode != 0
