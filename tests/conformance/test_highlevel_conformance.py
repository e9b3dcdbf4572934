"""The HighLevel emulator against HighLevel's published OpenAPI documents.

For every operation the emulator implements: the sample request it accepts conforms to the
documented request (body schema, query, Version header), its answer conforms to the documented
200/201 schema, and leaving out any field the document requires makes the emulator refuse (422).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conformance.openapi import (
    find_operation,
    request_problems,
    require_specs,
    response_schema_pointer,
    validate_request,
    validate_response,
)

pytestmark = pytest.mark.integration

LOC = "locConformance01"
TOKEN = "pit-conformance"
V1 = "2021-07-28"
V_CONV = "2021-04-15"


def _headers(version: str = V1) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Version": version}


CONTACT = {"locationId": LOC, "firstName": "Rosa", "lastName": "Diaz", "email": "rosa@example.com",
           "phone": "+1 555-010-0101", "companyName": "Nine-Nine", "tags": ["customer"],
           "address1": "1 Main St", "city": "Brooklyn", "state": "NY", "postalCode": "11201", "country": "US",
           "customFields": [{"id": "cf1", "field_value": "x"}], "source": "qbo"}
INVOICE = {
    "altId": LOC, "altType": "location", "name": "Services", "currency": "USD", "liveMode": False,
    "businessDetails": {"name": "Acme", "address": {"addressLine1": "1 Main St", "countryCode": "US"}},
    "items": [{"name": "Consulting", "currency": "USD", "amount": 120, "qty": 2,
               "taxes": [{"_id": "tax1", "name": "Sales tax", "rate": 8.25, "calculation": "exclusive"}]},
              {"name": "Travel", "currency": "USD", "amount": 35.5, "qty": 1}],
    "discount": {"type": "fixed", "value": 10},
    "contactDetails": {"id": "c1", "name": "Rosa Diaz", "phoneNo": "+15550100101", "email": "rosa@example.com"},
    "issueDate": "2024-03-01", "dueDate": "2024-03-31", "sentTo": {"email": ["rosa@example.com"]},
}
SEND = {"altId": LOC, "altType": "location", "userId": "user1", "action": "send_manually", "liveMode": False}
PAY = {"altId": LOC, "altType": "location", "mode": "card", "card": {"brand": "visa", "last4": "4242"},
       "cheque": {"number": ""}, "notes": "paid at the desk", "amount": 50}
VOID = {"altId": LOC, "altType": "location"}
UPDATE = {"altId": LOC, "altType": "location", "name": "Services", "currency": "USD", "issueDate": "2024-03-01",
          "dueDate": "2024-03-31", "discount": {"type": "percentage", "value": 5},
          "invoiceItems": [{"name": "Consulting", "currency": "USD", "amount": 120, "qty": 3,
                            "taxes": [{"_id": "tax1", "name": "Sales tax", "rate": 8.25}]}]}
ALT = {"altId": LOC, "altType": "location"}


@pytest.fixture
def world(highlevel: str) -> dict[str, Any]:
    """A location (with its token) and one contact, transaction, order, subscription and invoice of each
    status needed."""
    require_specs()
    seeded = requests.post(f"{highlevel}/_admin/seed", json={
        "locations": [{"id": LOC, "name": "Conformance", "token": TOKEN}],
        "transactions": [{"amount": 25, "entitySourceType": "funnel", "entitySourceId": "f1",
                          "entitySourceName": "Order form", "contactId": "c1"}],
        "orders": [{"amount": 40, "subtotal": 45, "discount": 5, "sourceType": "funnel", "sourceId": "f1"}],
        "subscriptions": [{"amount": 9, "entitySourceType": "membership", "contactId": "c1"}],
    }, timeout=5).json()["ids"]
    contact = requests.post(f"{highlevel}/contacts/", json=CONTACT, headers=_headers(), timeout=5).json()["contact"]
    invoices = [requests.post(f"{highlevel}/invoices/", json=INVOICE, headers=_headers(), timeout=5).json()["_id"]
                for _ in range(2)]
    # the spare is voided below, and a draft cannot be voided (only deleted)
    requests.post(f"{highlevel}/invoices/{invoices[1]}/send", json=SEND, headers=_headers(),
                  timeout=5).raise_for_status()
    return {"base": highlevel, "contact": contact["id"], "invoice": invoices[0], "spare_invoice": invoices[1],
            "txn": seeded["transactions"][0], "order": seeded["orders"][0]}


def _cases(w: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any] | None, Any, str, int]]:
    """(method, template, path, query, body, version, expected status) for every implemented operation."""
    c, inv, spare = w["contact"], w["invoice"], w["spare_invoice"]
    upsert = {"locationId": LOC, "email": "ROSA@example.com", "lastName": "Diaz-Santiago"}
    return [
        ("POST", "/contacts/", "/contacts/", None, CONTACT | {"email": "amy@example.com", "phone": "+1999"}, V1, 201),
        ("POST", "/contacts/upsert", "/contacts/upsert", None, upsert, V1, 200),
        ("GET", "/contacts/{contactId}", f"/contacts/{c}", None, None, V1, 200),
        ("PUT", "/contacts/{contactId}", f"/contacts/{c}", None, {"city": "Manhattan", "dnd": False}, V1, 200),
        ("POST", "/contacts/{contactId}/tags", f"/contacts/{c}/tags", None, {"tags": ["review-requested"]}, V1, 201),
        ("DELETE", "/contacts/{contactId}/tags", f"/contacts/{c}/tags", None, {"tags": ["customer"]}, V1, 200),
        ("POST", "/contacts/search", "/contacts/search", None, {"locationId": LOC, "pageLimit": 20}, V1, 200),
        ("GET", "/contacts/search/duplicate", "/contacts/search/duplicate",
         {"locationId": LOC, "email": "rosa@example.com"}, None, V1, 200),
        ("GET", "/payments/transactions", "/payments/transactions",
         {"altId": LOC, "altType": "location", "entitySourceType": "funnel", "limit": 10, "offset": 0}, None, V1, 200),
        ("GET", "/payments/transactions/{transactionId}", f"/payments/transactions/{w['txn']}", ALT, None, V1, 200),
        ("GET", "/payments/orders", "/payments/orders", {"altId": LOC, "limit": 5}, None, V1, 200),
        ("GET", "/payments/orders/{orderId}", f"/payments/orders/{w['order']}", ALT, None, V1, 200),
        ("GET", "/payments/subscriptions", "/payments/subscriptions",
         {"altId": LOC, "altType": "location", "contactId": "c1"}, None, V1, 200),
        ("POST", "/invoices/", "/invoices/", None, INVOICE, V1, 200),
        ("GET", "/invoices/", "/invoices/",
         {"altId": LOC, "altType": "location", "limit": "10", "offset": "0", "status": "draft"}, None, V1, 200),
        ("GET", "/invoices/{invoiceId}", f"/invoices/{inv}", ALT, None, V1, 200),
        ("PUT", "/invoices/{invoiceId}", f"/invoices/{inv}", None, UPDATE, V1, 200),
        ("POST", "/invoices/{invoiceId}/send", f"/invoices/{inv}/send", None, SEND, V1, 200),
        ("POST", "/invoices/{invoiceId}/record-payment", f"/invoices/{inv}/record-payment", None, PAY, V1, 200),
        ("POST", "/invoices/{invoiceId}/void", f"/invoices/{spare}/void", None, VOID, V1, 200),
        ("POST", "/conversations/messages", "/conversations/messages", None,
         {"type": "Email", "subType": "Email", "contactId": c, "status": "pending", "subject": "How did we do?",
          "html": "<p>Leave us a review</p>"}, V_CONV, 200),
    ]


def _send(base: str, method: str, path: str, query: Any, body: Any, version: str) -> requests.Response:
    return requests.request(method, f"{base}{path}", params=query, json=body, headers=_headers(version), timeout=5)


def test_every_implemented_operation_conforms(world: dict[str, Any]) -> None:
    for method, template, path, query, body, version, expected in _cases(world):
        validate_request(method, template, body, query, _headers(version))
        answer = _send(world["base"], method, path, query, body, version)
        assert answer.status_code == expected, (method, path, answer.text)
        if response_schema_pointer(method, template, expected) is not None:
            validate_response(method, template, expected, answer.json())


def test_undocumented_answers_have_the_live_shapes(world: dict[str, Any]) -> None:
    """Search and duplicate lookup document no answer schema; the live API answers these shapes."""
    base = world["base"]
    found = _send(base, "POST", "/contacts/search", None, {"locationId": LOC, "pageLimit": 1}, V1).json()
    assert set(found) >= {"contacts", "total", "traceId"} and found["total"] == 1
    assert found["contacts"][0]["searchAfter"][1] == world["contact"]
    dup = _send(base, "GET", "/contacts/search/duplicate", {"locationId": LOC, "number": "+15550100101"}, None, V1)
    assert dup.json()["contact"]["id"] == world["contact"]


def _required_body_fields(method: str, template: str, body: dict[str, Any]) -> list[str]:
    """Top-level fields of ``body`` the document marks required, found by dropping each in turn."""
    return [k for k in body if any(f"'{k}' is a required property" in p for p in
                                   request_problems(method, template, {x: v for x, v in body.items() if x != k}))]


def test_the_emulator_refuses_what_the_documents_require(world: dict[str, Any]) -> None:
    checked = 0
    for method, template, path, query, body, version, _ in _cases(world):
        if not isinstance(body, dict):
            continue
        for field in _required_body_fields(method, template, body):
            partial = {k: v for k, v in body.items() if k != field}
            answer = _send(world["base"], method, path, query, partial, version)
            assert answer.status_code == 422, (method, path, field, answer.text)
            assert f"{field} should not be empty" in answer.json()["message"]
            checked += 1
    assert checked >= 20


def test_required_query_parameters_are_enforced(world: dict[str, Any]) -> None:
    for method, template, path, query, _, version, _ in _cases(world):
        if not query:
            continue
        _, _, op = find_operation(method, template)
        for param in op.get("parameters", []):
            if param["in"] == "query" and param.get("required") and param["name"] in query:
                partial = {k: v for k, v in query.items() if k != param["name"]}
                answer = _send(world["base"], method, path, partial, None, version)
                assert answer.status_code == 422, (method, path, param["name"], answer.text)


def test_validate_request_reports_nonconforming_requests() -> None:
    require_specs()
    with pytest.raises(AssertionError, match="'locationId' is a required property"):
        validate_request("POST", "/contacts/upsert", {"email": "a@b.co"})
    with pytest.raises(AssertionError, match="query parameter limit is required"):
        validate_request("GET", "/invoices/", None, {"altId": LOC, "altType": "location", "offset": "0"})
    with pytest.raises(AssertionError, match="header parameter Version"):
        validate_request("GET", "/payments/transactions", None, {"altId": LOC, "altType": "location"},
                         {"Version": "2021-04-15"})
    validate_request("GET", f"/contacts/{'x' * 20}", None, None, _headers())


def test_refusals_match_the_documented_errors(world: dict[str, Any]) -> None:
    """Refusals use the documented error schemas, and the documented messages where examples give them."""
    base, spare_draft = world["base"], requests.post(f"{world['base']}/invoices/", json=INVOICE, headers=_headers(),
                                                     timeout=5).json()["_id"]
    _, _, void_op = find_operation("POST", "/invoices/{invoiceId}/void")
    documented = {e["value"]["message"] for e in
                  void_op["responses"]["400"]["content"]["application/json"]["examples"].values()}
    for path in (f"/invoices/{spare_draft}/void", "/invoices/0123456789abcdef01234567/void"):
        answer = _send(base, "POST", path, None, VOID, V1)
        assert answer.status_code == 400 and answer.json()["message"] in documented, answer.text
    refusals = [
        ("POST", "/contacts/search", None, {"locationId": LOC, "pageLimit": 5,
                                            "filters": [{"field": "contact_name", "operator": "eq", "value": "x"}]}),
        ("GET", "/contacts/search/duplicate", {"locationId": LOC}, None),
    ]
    for method, template, query, body in refusals:
        answer = _send(base, method, template, query, body, V1)
        assert answer.status_code == 400, answer.text
        if response_schema_pointer(method, template, 400) is not None:  # the search documents no 400 schema
            validate_response(method, template, 400, answer.json())
        assert set(answer.json()) >= {"statusCode", "message"}
    unauthorized = requests.get(f"{base}/contacts/search/duplicate", params={"locationId": LOC, "email": "a@b.co"},
                                headers={"Authorization": "Bearer nope", "Version": V1}, timeout=5)
    assert unauthorized.status_code == 401
    validate_response("GET", "/contacts/search/duplicate", 401, unauthorized.json())
