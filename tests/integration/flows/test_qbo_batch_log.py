"""The QBO batch write-ahead log over the QuickBooks emulator and a real PostgreSQL."""

from __future__ import annotations

import time

import requests
from psycopg.types.json import Jsonb

from qbo_crm_sync.flows import qbo_batch_log, qbo_customers
from qbo_crm_sync.hooks.quickbooks import BID_MAX, batch_item_id, request_id
from qbo_crm_sync.store import db
from qbo_crm_sync.store.sql import query
from tests.integration.flows.conftest import Env


def test_a_pending_batch_logged_with_long_bids_is_sent_with_short_ones_and_lands_once(env: Env) -> None:
    # Logged by a version that named batch items with 36-character requestids, which QBO refuses as
    # bIds of a batch that carries a requestid: pending, nothing of it landed.
    people = {"ana@example.com": "Ana Lima", "bo@example.com": "Bo Chen"}
    iid = env.integration.id
    items = [{"bId": request_id("customer", iid, email, 1), "operation": "create",
              "Customer": {"DisplayName": name, "PrimaryEmailAddr": {"Address": email}}}
             for email, name in people.items()]
    assert {len(i["bId"]) for i in items} == {36}
    with db.connect(env.db_url) as conn:
        conn.execute(query("qbo_customers_claim_put"), {"integration_id": iid, "emails": list(people),
                                                        "display_names": list(people.values())})
        conn.execute(query("qbo_customers_batch_open"), {
            "integration_id": iid, "purpose": qbo_customers.PURPOSE,
            "request_id": qbo_batch_log.batch_request_id(items), "items": Jsonb(items)})
        conn.commit()
    since = time.time()
    found = qbo_customers.resolve(env.job("contacts"), people)
    customers = env.qbo("Customer")
    assert sorted((c["DisplayName"], c["PrimaryEmailAddr"]["Address"]) for c in customers) == \
        sorted((name, email) for email, name in people.items())
    assert {email: r.customer_id for email, r in found.items()} == \
        {c["PrimaryEmailAddr"]["Address"]: c["Id"] for c in customers}
    # Sent once, re-keyed: the requestid is the one of the short bIds.
    short = [{**i, "bId": batch_item_id(i["bId"])} for i in items]
    assert all(len(i["bId"]) <= BID_MAX for i in short)
    sent = requests.get(f"{env.qbo_url}/_admin/requests", params={"since": since}, timeout=5).json()["requests"]
    assert [r["query"].split("&")[0] for r in sent if r["path"].endswith("/batch")] == \
        [f"requestid={qbo_batch_log.batch_request_id(short)}"]
    with db.connect(env.db_url) as conn:
        (batch,) = conn.execute("SELECT state, sends FROM sync.qbo_batch WHERE integration_id = %s",
                                (iid,)).fetchall()
    assert (batch["state"], batch["sends"]) == ("done", 2)
    # Nothing is left to settle: asking again writes nothing more.
    again = qbo_customers.resolve(env.job("contacts"), people)
    assert {e: r.customer_id for e, r in again.items()} == {e: r.customer_id for e, r in found.items()}
    assert len(env.qbo("Customer")) == 2 and env.requests_to(env.qbo_url, "/batch") == 1
