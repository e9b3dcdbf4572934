"""Review requests against HighLevel's conversations and contacts documents: the messages the flow
sends (email and SMS, every template), and every request the flow makes while sending one, a send
in doubt included, as they went over the wire; the emulator's answers to the reads it makes.

``GET /conversations/{conversationId}/messages``: HighLevel's API reference shows the page inside a
``messages`` object (marketplace.gohighlevel.com/docs/ghl/conversations/get-messages), where the
OpenAPI document puts it at the top level; the emulator answers as the reference does and the page
itself is checked against the document's schema."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from qbo_crm_sync.flows import reviews
from qbo_crm_sync.flows.reviews import render
from qbo_crm_sync.local.sandbox import Sandbox
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import DEFAULT_SETTINGS
from tests.conformance.openapi import (
    SPECS,
    find_operation,
    require_specs,
    validate_request,
    validate_response,
)

pytestmark = pytest.mark.integration

Env = Sandbox


@pytest.fixture
def env(db_url: str, qbo: str, highlevel: str, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("SYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("SYNC_FERNET_KEY", key)
    return Sandbox.connect(db_url, qbo, highlevel, "locConformanceReviews1", key)

CONVERSATIONS = "2021-04-15"
LINK = "https://g.page/r/Conformance/review"


def _documented_message_fields() -> set[str]:
    doc = json.loads((SPECS / "apps" / "conversations.json").read_text())
    return set(doc["components"]["schemas"]["SendMessageBodyDto"]["properties"])


@pytest.mark.parametrize("settings", [
    {},
    {"review_email_subject": "{company} thanks you, {first_name}",
     "review_email_template": "Dear {first_name},\n\n<b>{company}</b> & co: {review_link}\n\n{{signed}}",
     "review_sms_template": "{first_name}: {review_link} ({company})"},
])
def test_every_message_is_a_valid_send_body(settings: dict[str, Any]) -> None:
    require_specs()
    merged = {**DEFAULT_SETTINGS, "review_link": LINK, **settings}
    for message in (render.email(merged, "c0ntact000000000001", "José", "Ñandú & Sons", render.marker(1, "42")),
                    render.sms(merged, "c0ntact000000000001", None, None)):
        validate_request("POST", "/conversations/messages", body=message.body, headers={"Version": CONVERSATIONS})
        assert set(message.body) <= _documented_message_fields()


class _Wire:
    """Every request a hook's session sends, as it went out (method, path, query, Version, body)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        from urllib.parse import parse_qsl, urlsplit

        request = response.request
        url = urlsplit(request.url or "")
        body = json.loads(request.body) if request.body else None
        self.sent.append({"method": request.method, "path": url.path, "query": dict(parse_qsl(url.query)),
                          "version": request.headers.get("Version"), "body": body})


def _listen(job: Any) -> _Wire:
    wire = _Wire()
    job.crm.get_conn().session.hooks["response"].append(wire)
    return wire


def test_every_request_of_a_send_conforms(env: Env) -> None:
    """A review request sent, one lost on the way back and confirmed by asking the CRM: every
    request to HighLevel conforms to its documented operation."""
    require_specs()
    with db.connect(env.db_url) as conn:
        integrations.update_settings(conn, env.integration.id, {"auto_send_review": True, "review_link": LINK})
        conn.commit()
    time.sleep(1.05)
    qbo = env.job("qbo-user").qbo
    for n, (email, phone) in enumerate([("ann@example.com", None), (None, "(415) 555-0199")]):
        customer = qbo.create("Customer", {"DisplayName": f"Conformance {n}", "GivenName": "Ann",
                                           **({"PrimaryEmailAddr": {"Address": email}} if email else {}),
                                           **({"PrimaryPhone": {"FreeFormNumber": phone}} if phone else {})},
                              request_id=f"conf-customer-{n}-{time.time()}")
        invoice = qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": 50,
             "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 50}}]},
            request_id=f"conf-invoice-{n}-{time.time()}")
        qbo.create("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 50, "Line": [
            {"Amount": 50, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]},
            request_id=f"conf-payment-{n}-{time.time()}")
    job = env.job(reviews.FLOW)
    wire = _listen(job)
    env.faults(env.hl_url, drop_after_commit_rate=1.0, paths=["/conversations/messages"])
    try:
        counts, _ = env.run_cycle(reviews, job=job)
    finally:
        env.faults(env.hl_url, drop_after_commit_rate=0.0, paths=[])
    assert counts["sends_confirmed"] == 2 and len(env.crm("messages")) == 2
    operations = set()
    for sent in wire.sent:
        _, template, _ = find_operation(sent["method"], sent["path"])
        validate_request(sent["method"], sent["path"], sent["body"], sent["query"], {"Version": sent["version"]})
        operations.add(f"{sent['method']} {template}")
    assert {"POST /conversations/messages", "GET /conversations/search",
            "GET /conversations/{conversationId}/messages", "GET /contacts/{contactId}",
            "POST /contacts/{contactId}/tags"} <= operations


def test_the_emulators_conversation_reads_answer_the_documented_shapes(env: Env) -> None:
    require_specs()
    (contact,) = env.seed_crm("contacts", [{"locationId": env.integration.location_id, "email": "bo@example.com",
                                            "phone": "+14155550100", "firstName": "Bo"}])
    crm = env.job("conformance").crm
    for kind in ("Email", "SMS"):
        crm.send_message({"type": kind, "subType": kind, "status": "pending", "contactId": contact,
                          "subject": "s", "html": "<p>h</p>", "message": "m"})
    headers = {"Authorization": f"Bearer {env.hl_settings.token}", "Version": CONVERSATIONS}
    query = {"locationId": env.integration.location_id, "contactId": contact}
    found = requests.get(f"{env.hl_url}/conversations/search", params=query, headers=headers, timeout=10)
    validate_response("GET", "/conversations/search", 200, found.json())
    conversation = found.json()["conversations"][0]["id"]
    page = requests.get(f"{env.hl_url}/conversations/{conversation}/messages", params={"limit": 1},
                        headers=headers, timeout=10).json()
    validate_response("GET", "/conversations/{conversationId}/messages", 200, page["messages"])
    assert page["messages"]["nextPage"] is True
