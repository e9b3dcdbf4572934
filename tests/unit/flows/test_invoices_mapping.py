"""CRM invoice → Sale → QBO Invoice body (pure, no I/O): QBO's own total equals the CRM's to the cent.

The CRM's figures come from the HighLevel emulator's own arithmetic (``refresh_totals``), and QBO's
total from the QuickBooks emulator's (``totals.compute``), so a mapping mistake shows as a difference.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from emulators.highlevel.invoices import refresh_totals
from emulators.quickbooks import totals as qbo_totals
from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.invoices.mapping import (
    DOC_NUMBER_MAX,
    alternative_doc_number,
    doc_number,
    fingerprint,
    invoice_body,
    next_doc_number,
    paid_of,
    payment_body,
    payment_ref,
    skip_reason,
    source_of_note,
    to_sale,
    update_body,
)
from qbo_crm_sync.flows.sales_mapping import MappingError, qbo_total

US = CompanyFacts(name="Acme", country="US", home_currency="USD", multicurrency=False, using_sales_tax=True,
                  allow_discount=True, time_zone="America/Los_Angeles", default_item_id="1")
CA = replace(US, country="CA", home_currency="CAD", time_zone="America/Toronto")
D = Decimal
SID = "65a1b2c3d4e5f60718293a4b"
CONNECTED = datetime(2026, 1, 1, tzinfo=UTC)


def crm_invoice(items: list[dict[str, Any]], discount: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An invoice with the totals the CRM (its emulator) works out."""
    invoice = {"_id": SID, "invoiceNumber": 1042, "status": "sent", "liveMode": True, "currency": "USD",
               "issueDate": "2026-03-02", "dueDate": "2026-04-01", "amountPaid": 0,
               "createdAt": "2026-03-02T17:30:00.000Z", "updatedAt": "2026-03-03T07:30:00.000Z",
               "contactDetails": {"id": "c1", "name": "Ann Lee", "email": "Ann@Example.com"},
               "invoiceItems": items, "discount": discount or {"type": "percentage", "value": 0}} | extra
    refresh_totals(invoice)
    return invoice


def line(amount: Any, qty: Any = 1, rate: Any = None, inclusive: bool = False, product: str | None = None,
         name: str = "Item") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "amount": amount, "qty": qty, "currency": "USD"}
    if rate is not None:
        out["taxes"] = [{"_id": "t", "name": "Tax", "rate": rate}]
    if inclusive:
        out["taxInclusive"] = True
    if product:
        out["productId"] = product
    return out


def qbo_computes(body: dict[str, Any]) -> Decimal:
    """TotalAmt as the QuickBooks emulator computes it from the JSON the hook would send."""
    sent = json.loads(json.dumps(copy.deepcopy(body), default=float))
    return qbo_totals.compute(sent, {})


@pytest.mark.parametrize("mode", ["fold_into_lines", "total_tax"])
def test_the_three_times_33_33_trap(mode: str) -> None:
    raw = crm_invoice([line(33.33, 3, 7.25)])
    assert raw["total"] == 107.24 and raw["totalSummary"]["tax"] == 7.25
    body = invoice_body(raw, SID, mode, US)
    assert qbo_total(body) == qbo_computes(body) == D("107.24")
    assert body["TxnTaxDetail"]["TotalTax"] == (D("7.25") if mode == "total_tax" else 0)


def test_the_invoice_body_names_the_crm_invoice() -> None:
    raw = crm_invoice([line(150, 2, 7.25, name="Design"), line(38.99, 3, name="Plants")],
                      {"type": "fixed", "value": 20})
    body = invoice_body(raw, SID, "total_tax", US, {"invoice": "7"})
    assert body["DocNumber"] == "1042" and body["TxnDate"] == "2026-03-02" and body["DueDate"] == "2026-04-01"
    assert source_of_note(body["PrivateNote"]) == SID and "number 1042" in body["PrivateNote"]
    assert body["BillEmail"] == {"Address": "Ann@Example.com"} and body["CurrencyRef"] == {"value": "USD"}
    items = [ln for ln in body["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert [ln["SalesItemLineDetail"]["ItemRef"] for ln in items] == [{"value": "7"}] * 2
    assert [(ln["SalesItemLineDetail"]["Qty"], ln["SalesItemLineDetail"]["UnitPrice"]) for ln in items] == \
        [(D(2), D(150)), (D(3), D("38.99"))]
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in items] == ["TAX", "NON"]
    assert body["Line"][-1] == {"DetailType": "DiscountLineDetail", "Amount": D("20.00"),
                                "DiscountLineDetail": {"PercentBased": False}}
    assert qbo_total(body) == qbo_computes(body) == D(str(raw["total"]))


def test_a_discount_is_a_line_in_either_mode_where_the_company_allows_it() -> None:
    raw = crm_invoice([line(100, 1, 10)], {"type": "percentage", "value": 10})
    for mode in ("fold_into_lines", "total_tax"):
        body = invoice_body(raw, SID, mode, US)
        assert [ln["DetailType"] for ln in body["Line"]][-1] == "DiscountLineDetail"
        folded = invoice_body(raw, SID, mode, replace(US, allow_discount=False))
        assert all(ln["DetailType"] == "SalesItemLineDetail" for ln in folded["Line"])
        assert qbo_computes(body) == qbo_computes(folded) == D("99.00")


def test_tax_inside_a_price_comes_off_that_line_only() -> None:
    raw = crm_invoice([line(107, 1, 7, inclusive=True), line(50, 1)])
    assert raw["total"] == 157 and raw["totalSummary"]["tax"] == 7
    body = invoice_body(raw, SID, "total_tax", CA, tax_code_id="7")
    assert [ln["Amount"] for ln in body["Line"]] == [D("100.00"), D("50.00")]
    assert body["TxnTaxDetail"]["TotalTax"] == D("7.00") and qbo_computes(body) == D("157.00")


def test_random_invoices_total_to_the_cent_in_both_modes() -> None:
    rng = random.Random(11)
    companies = (US, replace(CA, allow_discount=False), replace(US, using_sales_tax=False))
    for _ in range(400):
        items = []
        for n in range(rng.randint(1, 6)):
            rate = rng.choice([None, 5, 7.25, 8.875, 13, 20])
            items.append(line(rng.randint(1, 99999) / 100, rng.choice([1, 2, 3, 7, 1.5, 0.25]), rate,
                              inclusive=rate is not None and rng.random() < 0.3, product=f"p{n}"))
        discount = rng.choice([None, {"type": "percentage", "value": rng.choice([5, 10, 12.5, 33])},
                               {"type": "fixed", "value": rng.randint(1, 5000) / 100},
                               {"type": "fixed", "value": 9.99, "validOnProductIds": ["p0"]}])
        raw = crm_invoice(items, discount)
        total = D(str(raw["total"]))
        for company in companies:
            for mode in ("fold_into_lines", "total_tax"):
                body = invoice_body(raw, SID, mode, company, tax_code_id="7" if company.country != "US" else None)
                assert qbo_total(body) == qbo_computes(body) == total, (items, discount, mode, company)
                assert all(ln["Amount"] >= 0 for ln in body["Line"])


def test_items_quickbooks_cannot_take_are_refused_with_the_reason() -> None:
    with pytest.raises(MappingError, match="no items"):
        to_sale({"invoiceItems": []})
    with pytest.raises(MappingError, match="item 2"):
        to_sale(crm_invoice([line(10), line(-5)]))


def test_what_is_not_written_and_why() -> None:
    base = crm_invoice([line(10)])
    assert skip_reason(base, False, CONNECTED, False) is None
    assert skip_reason(base | {"status": "draft"}, False, CONNECTED, False) == \
        "draft in the CRM: not synced until it is sent"
    assert "before the integration was connected" in skip_reason(
        base | {"createdAt": "2025-12-31T23:00:00Z"}, False, CONNECTED, False)
    assert "test-mode" in skip_reason(base | {"liveMode": False}, False, CONNECTED, False)
    assert skip_reason(base | {"liveMode": False}, False, CONNECTED, True) is None
    assert "voided in the CRM before it was synced" in skip_reason(base | {"status": "void"}, False, CONNECTED, False)
    assert "deleted" in skip_reason(base | {"status": "deleted"}, False, CONNECTED, False)
    # Once in QBO, every later state is followed (a draft again is left alone, saying so).
    for status in ("sent", "partially_paid", "paid", "void", "deleted"):
        assert skip_reason(base | {"status": status}, True, CONNECTED, False) is None
    assert "back to draft" in skip_reason(base | {"status": "draft"}, True, CONNECTED, False)


def test_numbers_are_deterministic_and_fit_quickbooks() -> None:
    assert doc_number({"invoiceNumber": 1042}) == ("1042", None)
    long_number, note = doc_number({"invoiceNumber": "INV-2026-000000012345"})
    assert long_number == "INV-2026-000000012345" and note is None  # exactly 21
    longer, note = doc_number({"invoiceNumber": "INV-2026-0000000123456"})
    assert len(longer) == DOC_NUMBER_MAX and note and "longer than QuickBooks' 21 characters" in note
    assert doc_number({"invoiceNumber": "INV-2026-0000000123456"})[0] == longer
    first = alternative_doc_number("1042", SID)
    assert first.startswith("1042-") and len(first) == 9 and first == alternative_doc_number("1042", SID)
    assert alternative_doc_number("1042", "another id") != first
    second = next_doc_number(first, "1042", SID)
    assert second == first + "2" and next_doc_number(second, "1042", SID) == first + "3"
    assert next_doc_number("1042", "1042", SID) == first
    assert len(alternative_doc_number("X" * 21, SID, 12)) == DOC_NUMBER_MAX
    assert payment_ref(SID, D("40")) == payment_ref(SID, D("40.00")) != payment_ref(SID, D("40.01"))
    assert len(payment_ref(SID, D("40"))) <= 21
    assert source_of_note(f"Voided - HighLevel invoice {SID} (number 1)") == SID
    assert source_of_note("typed in by the accountant") is None


def test_what_was_written_hashes_the_same_as_quickbooks_copy_of_it() -> None:
    raw = crm_invoice([line(33.33, 3, 7.25), line(12.5, 2)], {"type": "percentage", "value": 10})
    body = invoice_body(raw, SID, "fold_into_lines", US)
    held = json.loads(json.dumps(copy.deepcopy(body), default=float))
    qbo_totals.compute(held, {})  # QBO numbers the lines and adds its subtotal line
    assert fingerprint(held) == fingerprint(body) == fingerprint(update_body(body, "9", "3"))
    changed = invoice_body(crm_invoice([line(33.33, 3, 7.25), line(12.5, 3)], {"type": "percentage", "value": 10}),
                           SID, "fold_into_lines", US)
    assert fingerprint(changed) != fingerprint(body)
    assert update_body(body, "9", "3")["sparse"] is True and "DocNumber" not in update_body(body, "9", "3")


def test_paid_amounts() -> None:
    raw = crm_invoice([line(100)])
    assert paid_of(raw | {"amountPaid": 40}, D(100)) == D("40.00")
    assert paid_of(raw | {"status": "paid", "amountPaid": None}, D(100)) == D(100)
    assert paid_of(raw | {"amountPaid": 250}, D(100)) == D(100)


def test_every_body_the_flow_sends_uses_only_the_xsd_names() -> None:
    from tests.conformance.test_qbo_conformance import XSD, unknown_keys

    if not XSD.is_dir():
        pytest.skip(f"QBO XSD not found at {XSD.resolve()}")
    raw = crm_invoice([line(150, 2, 7.25), line(12.5, 1)], {"type": "percentage", "value": 10})
    body = invoice_body(raw, SID, "total_tax", US) | {"CustomerRef": {"value": "3"}}
    state = {"customer_id": "3", "currency": "USD", "doc_number": "1042", "crm_total": D("100"), "invoice_id": "9"}
    sent = {
        "Invoice": [body, update_body(body, "9", "2"), {"Id": "9", "SyncToken": "3"}],
        "Payment": [payment_body(SID, state, D("40"), D("40"), payment_ref(SID, D("40")), "2026-03-03", "35"),
                    {"Id": "31", "SyncToken": "0", "sparse": True}],
    }
    for entity, bodies in sent.items():
        for sent_body in bodies:
            assert unknown_keys(json.loads(json.dumps(sent_body, default=float)), entity, entity) == []
