"""Invoices: required paging, totals with discount and taxes, and the status lifecycle."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulators.highlevel_client import LOC, call, entities

pytestmark = pytest.mark.integration

ALT = {"altId": LOC, "altType": "location"}
CARD = {"card": {"brand": "visa", "last4": "4242"}, "cheque": {"number": ""}, "notes": "desk"}


def draft(base: str, **overrides: Any) -> dict[str, Any]:
    body = {
        **ALT, "name": "Work", "currency": "USD", "liveMode": False, "businessDetails": {"name": "Acme"},
        "items": [{"name": "Hours", "currency": "USD", "amount": 100, "qty": 3, "productId": "p1",
                   "taxes": [{"_id": "t1", "name": "Tax", "rate": 8.25}]},
                  {"name": "Parts", "currency": "USD", "amount": 19.99, "qty": 2, "productId": "p2"}],
        "discount": {"type": "percentage", "value": 10},
        "contactDetails": {"id": "c1", "name": "Ann", "phoneNo": "+15550001111", "email": "ann@example.com"},
        "issueDate": "2024-05-01", "sentTo": {"email": ["ann@example.com"]},
    } | overrides
    answer = call(base, "POST", "/invoices/", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_totals_include_discount_and_item_taxes(highlevel: str) -> None:
    invoice = draft(highlevel)
    # lines 300 + 39.98 = 339.98; 10 % off = 34.00 (33.998); tax 8.25 % of (300 - 30.00...) = 22.27
    assert invoice["totalSummary"] == {"subTotal": 339.98, "discount": 34, "tax": 22.27}
    assert invoice["total"] == 328.25 and invoice["amountDue"] == 328.25 and invoice["amountPaid"] == 0
    assert invoice["status"] == "draft" and isinstance(invoice["invoiceNumber"], int)
    fixed = draft(highlevel, discount={"type": "fixed", "value": 50, "validOnProductIds": ["p2"]})
    # the fixed discount is capped at the eligible line (39.98) and leaves the taxed line alone
    assert fixed["totalSummary"] == {"subTotal": 339.98, "discount": 39.98, "tax": 24.75}
    assert fixed["total"] == 324.75


def test_list_requires_limit_and_offset(highlevel: str) -> None:
    draft(highlevel)
    refused = call(highlevel, "GET", "/invoices/", params=ALT)
    assert refused.status_code == 422
    assert {"limit should not be empty", "offset should not be empty"} <= set(refused.json()["message"])
    listed = call(highlevel, "GET", "/invoices/", params={**ALT, "limit": "10", "offset": "0"})
    assert listed.status_code == 200 and listed.json()["total"] == 1
    bad_status = call(highlevel, "GET", "/invoices/", params={**ALT, "limit": "10", "offset": "0", "status": "open"})
    assert bad_status.status_code == 422


def test_lifecycle_send_partial_then_paid(highlevel: str) -> None:
    invoice = draft(highlevel)
    iid = invoice["_id"]
    sent = call(highlevel, "POST", f"/invoices/{iid}/send",
                json={**ALT, "userId": "u1", "action": "send_manually", "liveMode": False})
    assert sent.status_code == 200 and sent.json()["invoice"]["status"] == "sent"
    partial = call(highlevel, "POST", f"/invoices/{iid}/record-payment", json={**ALT, "mode": "card", **CARD,
                                                                               "amount": 100})
    assert partial.status_code == 200 and partial.json()["success"] is True
    assert partial.json()["invoice"]["status"] == "partially_paid"
    assert partial.json()["invoice"]["amountDue"] == 228.25
    too_much = call(highlevel, "POST", f"/invoices/{iid}/record-payment",
                    json={**ALT, "mode": "cash", **CARD, "amount": 500})
    assert too_much.status_code == 400
    rest = call(highlevel, "POST", f"/invoices/{iid}/record-payment", json={**ALT, "mode": "cash", **CARD})
    assert rest.json()["invoice"]["status"] == "paid" and rest.json()["invoice"]["amountDue"] == 0
    listed = call(highlevel, "GET", "/invoices/", params={**ALT, "limit": "5", "offset": "0", "status": "paid"})
    assert [i["_id"] for i in listed.json()["invoices"]] == [iid]
    payments = call(highlevel, "GET", "/payments/transactions",
                    params={**ALT, "entitySourceType": "invoice", "entityId": iid}).json()
    assert payments["totalCount"] == 2 and sorted(t["amount"] for t in payments["data"]) == [100, 228.25]
    assert all(t["contactId"] == "c1" for t in payments["data"])
    assert call(highlevel, "POST", f"/invoices/{iid}/void", json=ALT).status_code == 400


def test_void_and_record_payment_validation(highlevel: str) -> None:
    iid = draft(highlevel)["_id"]
    missing_card = call(highlevel, "POST", f"/invoices/{iid}/record-payment",
                        json={**ALT, "mode": "cash", "notes": "n", "cheque": {"number": "1"}})
    assert missing_card.status_code == 422 and "card should not be empty" in missing_card.json()["message"]
    call(highlevel, "POST", f"/invoices/{iid}/send",
         json={**ALT, "userId": "u1", "action": "send_manually", "liveMode": False}).raise_for_status()
    voided = call(highlevel, "POST", f"/invoices/{iid}/void", json=ALT)
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    got = call(highlevel, "GET", f"/invoices/{iid}", params=ALT).json()
    assert got["status"] == "void"
    assert call(highlevel, "POST", f"/invoices/{iid}/record-payment",
                json={**ALT, "mode": "cash", **CARD}).status_code == 400
    assert entities(highlevel, "transactions", LOC) == []


def test_create_validates_items(highlevel: str) -> None:
    answer = call(highlevel, "POST", "/invoices/", json={
        **ALT, "name": "x", "currency": "USD", "liveMode": False, "businessDetails": {},
        "items": [{"name": "A", "currency": "USD", "amount": "10", "qty": 1}], "discount": {"type": "percent"},
        "contactDetails": {"id": "c", "name": "n", "phoneNo": "1", "email": "e@x.co"}, "issueDate": "2024-01-01",
        "sentTo": {"email": []},
    })
    assert answer.status_code == 422
    assert set(answer.json()["message"]) == {
        "items.0.amount must be a number conforming to the specified constraints",
        "discount.type must be one of the following values: percentage, fixed",
    }


def test_void_refusals_carry_the_documented_messages(highlevel: str) -> None:
    # invoices OpenAPI, POST /invoices/{invoiceId}/void, 400 examples VoidDraftInvoiceBadResponse and
    # UnableToFindInvoiceResponse.
    iid = draft(highlevel)["_id"]
    refused = call(highlevel, "POST", f"/invoices/{iid}/void", json=ALT)
    assert refused.status_code == 400
    assert refused.json()["message"] == "Can not void draft invoice. You can delete draft invoice!"
    assert call(highlevel, "GET", f"/invoices/{iid}", params=ALT).json()["status"] == "draft"
    for method, path, body, params in (("POST", "/invoices/0123456789abcdef01234567/void", ALT, None),
                                       ("GET", "/invoices/0123456789abcdef01234567", None, ALT)):
        unknown = call(highlevel, method, path, json=body, params=params)
        assert unknown.status_code == 400
        assert unknown.json()["message"] == "Unable to find an invoice with the given invoice id"


def _editable(invoice: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**ALT, "name": invoice["name"], "currency": invoice["currency"], "issueDate": invoice["issueDate"],
            "dueDate": invoice["dueDate"], "discount": invoice["discount"],
            "invoiceItems": [{k: v for k, v in i.items() if k != "_id"} for i in invoice["invoiceItems"]]} | changes


def test_update_recomputes_totals_and_keeps_status_and_payments(highlevel: str) -> None:
    iid = draft(highlevel)["_id"]
    call(highlevel, "POST", f"/invoices/{iid}/send",
         json={**ALT, "userId": "u1", "action": "send_manually", "liveMode": True}).raise_for_status()
    call(highlevel, "POST", f"/invoices/{iid}/record-payment",
         json={**ALT, "mode": "cash", **CARD, "amount": 100}).raise_for_status()
    now = call(highlevel, "GET", f"/invoices/{iid}", params=ALT).json()
    edited = call(highlevel, "PUT", f"/invoices/{iid}", json=_editable(now, discount={"type": "fixed", "value": 50}))
    assert edited.status_code == 200, edited.text
    body = edited.json()
    # 339.98 - 50 (shared over both lines) + 8.25 % of what is left of the 300 line (255.88): 21.11
    assert body["totalSummary"] == {"subTotal": 339.98, "discount": 50, "tax": 21.11} and body["total"] == 311.09
    assert body["status"] == "partially_paid" and body["amountPaid"] == 100 and body["amountDue"] == 211.09
    too_small = call(highlevel, "PUT", f"/invoices/{iid}",
                     json=_editable(now, invoiceItems=[{"name": "Hours", "currency": "USD", "amount": 10, "qty": 1}]))
    assert too_small.status_code == 400 and "cannot be less than the amount paid" in too_small.json()["message"]
    missing = call(highlevel, "PUT", f"/invoices/{iid}", json={k: v for k, v in _editable(now).items()
                                                               if k != "dueDate"})
    assert missing.status_code == 422 and "dueDate should not be empty" in missing.json()["message"]
    call(highlevel, "POST", f"/invoices/{iid}/record-payment", json={**ALT, "mode": "cash", **CARD}).raise_for_status()
    paid = call(highlevel, "PUT", f"/invoices/{iid}", json=_editable(now))
    assert paid.status_code == 400 and paid.json()["message"] == "Invoice is paid and cannot be updated"


def test_a_paid_invoice_is_voided_once_its_payments_are_refunded(highlevel: str) -> None:
    iid = draft(highlevel)["_id"]
    call(highlevel, "POST", f"/invoices/{iid}/send",
         json={**ALT, "userId": "u1", "action": "send_manually", "liveMode": True}).raise_for_status()
    call(highlevel, "POST", f"/invoices/{iid}/record-payment", json={**ALT, "mode": "cash", **CARD}).raise_for_status()
    refused = call(highlevel, "POST", f"/invoices/{iid}/void", json=ALT)
    assert refused.status_code == 400 and "refund its payments first" in refused.json()["message"]
    (txn,) = entities(highlevel, "transactions", LOC)
    refund = requests.post(f"{highlevel}/_admin/transactions/{txn['_id']}/refund", json={}, timeout=5).json()
    assert refund["amountRefunded"] == txn["amount"] and refund["status"] == "refunded"
    voided = call(highlevel, "POST", f"/invoices/{iid}/void", json=ALT)
    assert voided.status_code == 200 and voided.json()["status"] == "void"
