"""The review requests DAG runs for real (`airflow dags test`) against the emulators and the sync store."""

from __future__ import annotations

import os
import time

import requests

from qbo_crm_sync.dag_factory import STEPS
from qbo_crm_sync.local.sandbox import crm_location
from qbo_crm_sync.local.stack import HL_TOKEN, Stack
from qbo_crm_sync.store import db, integrations
from tests.dags.airflow_runs import airflow, last_run

LOCATION = "locDagRunReviews000001"
DAG_ID = "qbo_payments_to_review_requests"


def test_reviews_dag_run_asks_the_customers_whose_first_invoice_was_paid(stack: Stack) -> None:
    from emulators.seed_data import qbo_invoices_and_payments
    from qbo_crm_sync.integrations_registry import connect, update_settings

    crm_location(stack.highlevel_url, LOCATION, token=HL_TOKEN)  # the token highlevel_default carries
    integration = connect(LOCATION, prompt=None, out=lambda _: None)
    update_settings(integration.id, {"auto_send_review": True, "review_link": "https://g.page/r/DagRun/review"},
                    stack.database_url, by="dag test")
    time.sleep(1.05)
    world = qbo_invoices_and_payments(10, seed=4)
    requests.post(f"{stack.qbo_url}/_admin/seed", timeout=30, json={
        "realmId": integration.realm_id, **{k: world[k] for k in ("Customer", "Invoice", "Payment")}},
    ).raise_for_status()
    time.sleep(1.05)

    result = airflow(dict(os.environ), "dags", "test", DAG_ID)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    messages = requests.get(f"{stack.highlevel_url}/_admin/entities/messages", params={"locationId": LOCATION},
                            timeout=10).json()["items"]
    assert sorted(m["to"] for m in messages) == sorted(world["asked"])
    with db.connect(stack.database_url) as conn:
        run = conn.execute("SELECT * FROM sync.run WHERE dag_id = %s AND flow = 'reviews'", (DAG_ID,)).fetchone()
        sent = conn.execute("SELECT count(*) AS n FROM sync.review_request WHERE state = 'sent'").fetchone()["n"]
        assert integrations.get(conn, integration.id).settings["auto_send_review"] is True
    assert run["status"] == "success" and run["counts"]["review_requests_sent"] == len(world["asked"]) == sent
    state, tis = last_run(DAG_ID)
    label = f"integration {integration.id} ({LOCATION})"
    assert state == "success" and {step: tis[(step, 0)] for step in STEPS} == dict.fromkeys(STEPS, ("success", label))
