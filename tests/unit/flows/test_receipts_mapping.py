"""Classification and mapping of CRM payments into QBO sales receipts (pure, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest

from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.qbo_customers import disambiguated, display_name_for, email_key, next_display_name
from qbo_crm_sync.flows.receipts.mapping import (
    INVOICE_PAYMENT,
    classify,
    doc_number,
    to_receipts,
    txn_date,
    with_decimals,
)
from qbo_crm_sync.flows.sales_mapping import qbo_total


def txn(**extra: object) -> dict:
    base = {"_id": "65a1b2c3d4e5f60718293a4b", "status": "succeeded", "liveMode": True, "amount": 49.99,
            "currency": "USD", "entitySourceType": "funnel", "contactEmail": "Ann@Example.com",
            "contactName": "Ann Lee", "createdAt": "2026-03-01T07:30:00.000Z"}
    return base | extra


@pytest.mark.parametrize(("fields", "kind"), [
    ({}, "order_form"),
    ({"entitySourceType": "website"}, "order_form"),
    ({"subscriptionId": "sub_1"}, "subscription"),
    ({"entitySourceType": "membership"}, "membership"),
    ({"entitySourceType": "calendar"}, "calendar"),
])
def test_eligible_sources(fields: dict, kind: str) -> None:
    assert classify(txn(**fields)) == (kind, None)


@pytest.mark.parametrize(("fields", "words"), [
    ({"entitySourceType": "invoice"}, INVOICE_PAYMENT),
    ({"status": "failed"}, "failed"),
    ({"status": "pending"}, "pending"),
    ({"status": "refunded"}, "refunded"),
    ({"amountRefunded": 10}, "refunded"),
    ({"liveMode": False}, "test-mode"),
    ({"entitySourceType": "text2Pay"}, "text2Pay"),
    ({"amount": 0}, "zero"),
])
def test_skipped_with_reason(fields: dict, words: str) -> None:
    kind, reason = classify(txn(**fields))
    assert kind is None and words in reason


def test_test_mode_opt_in() -> None:
    assert classify(txn(liveMode=False), include_test_mode=True) == ("order_form", None)


def test_doc_number_is_short_deterministic_and_reversible_for_hex_ids() -> None:
    number = doc_number("65a1b2c3d4e5f60718293a4b")
    assert len(number) <= 21 and number == doc_number("65a1b2c3d4e5f60718293a4b")
    assert int(number[1:], 36) == int("65a1b2c3d4e5f60718293a4b", 16)
    other = doc_number("not-a-hex-id")
    assert len(other) <= 21 and other.startswith("X") and other != doc_number("not-a-hex-id2")

US = CompanyFacts(name="Acme", country="US", home_currency="USD", multicurrency=False, using_sales_tax=True,
                  allow_discount=True, time_zone="America/Los_Angeles", default_item_id="1")
CA = replace(US, country="CA", home_currency="USD")


def test_txn_date_in_pacific_time() -> None:
    assert txn_date(txn(createdAt="2026-03-01T07:30:00.000Z")) == "2026-02-28"
    assert txn_date(txn(fulfilledAt="2026-03-01T09:00:00Z")) == "2026-03-01"


def test_receipt_body_money_exact_and_item_mapping() -> None:
    frame = pd.DataFrame({"source_id": ["a" * 24, "b" * 24], "raw": [
        txn(_id="a" * 24, amount=19.99, entitySourceType="calendar"),
        txn(_id="b" * 24, amount=-5, entitySourceType="membership"),
    ]})
    out = to_receipts(frame, {"item_mapping": {"calendar": "7", "default": "3"}, "deposit_account_id": "35"}, US)
    first = out.iloc[0]
    body = first["payload"]
    assert first["amount"] == Decimal("19.99") and first["email"] == "ann@example.com"
    assert body["Line"][0]["Amount"] == Decimal("19.99")
    assert body["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "7"}
    assert body["DepositToAccountRef"] == {"value": "35"}
    assert body["DocNumber"] == doc_number("a" * 24) and "a" * 24 in body["PrivateNote"]
    second = out.iloc[1]
    assert second["payload"] is None and not second["amount_positive"]


def test_order_items_become_lines_when_they_add_up() -> None:
    raw = txn(amount=30, items=[{"name": "Seeds", "qty": 2, "price": 10}, {"name": "Pot", "qty": 1, "price": 10}])
    body = to_receipts(pd.DataFrame({"source_id": ["c" * 24], "raw": [raw]}), {}, US).iloc[0]["payload"]
    assert [ln["Amount"] for ln in body["Line"]] == [Decimal(20), Decimal(10)]
    raw_off = txn(amount=31, items=[{"name": "Seeds", "qty": 2, "price": 10}])
    body_off = to_receipts(pd.DataFrame({"source_id": ["d" * 24], "raw": [raw_off]}), {}, US).iloc[0]["payload"]
    assert [ln["Amount"] for ln in body_off["Line"]] == [Decimal(31)]


def order(amount: str, items: list[dict], subtotal: str, discount: str = "0", tax: str = "0",
          shipping: str = "0") -> dict:
    return {"_id": "o" * 24, "amount": Decimal(amount), "items": items, "amountSummary": {
        "subtotal": Decimal(subtotal), "discount": Decimal(discount), "tax": Decimal(tax), "shipping": Decimal(shipping)}}


@pytest.mark.parametrize(("settings", "company", "booked"), [
    ({"tax_mode": "total_tax"}, US, True),
    ({}, US, False),                                      # auto: a US company folds, as the CRM's own integration
    ({"tax_code_id": "7"}, CA, True),                     # auto: elsewhere tax is booked apart (own tax code)
    ({}, CA, False),                                      # ... and folded while no tax code is set
    ({"tax_mode": "total_tax"}, replace(US, using_sales_tax=False), False),
])
def test_an_order_payments_tax_is_booked_as_tax_or_folded(settings: dict, company: CompanyFacts, booked: bool) -> None:
    """3 × 33.33 at 7.25 % (a rounding trap) plus shipping, less a 10.00 discount: 107.24 - 10 + 5."""
    raw = txn(_id="e" * 24, amount="102.24", entityType="order", entityId="o" * 24)
    the_order = order("102.24", [{"name": "Session", "qty": 3, "price": {"amount": 33.33}}],
                      subtotal="99.99", discount="10.00", tax="7.25", shipping="5.00")
    out = to_receipts(pd.DataFrame({"source_id": ["e" * 24], "raw": [raw]}), settings, company, {"o" * 24: the_order})
    body = out.iloc[0]["payload"]
    assert qbo_total(body) == Decimal("102.24")
    assert body["TxnTaxDetail"]["TotalTax"] == (Decimal("7.25") if booked else Decimal(0))
    kinds = [ln["DetailType"] for ln in body["Line"]]
    assert kinds == (["SalesItemLineDetail"] * 2 + ["DiscountLineDetail"] if booked else ["SalesItemLineDetail"] * 2)


def test_decimals_come_back_from_json_storage() -> None:
    stored = {"Line": [{"Amount": "12.30", "SalesItemLineDetail": {"UnitPrice": "12.30", "Qty": "1"}}]}
    assert with_decimals(stored)["Line"][0]["Amount"] == Decimal("12.30")


def test_customer_names_follow_qbo_rules() -> None:
    assert email_key("  Ann@Example.COM ") == "ann@example.com"
    assert display_name_for("Acme: Widgets\tDept\n", "a@x.com") == "Acme Widgets Dept"
    assert display_name_for("  ", "a@x.com") == "a@x.com"
    assert len(display_name_for("x" * 900, None)) == 500
    long = disambiguated("y" * 499, "pat@example.com")
    assert len(long) == 500 and long.endswith("(pat@example.com)")


def test_taken_names_walk_one_deterministic_sequence():
    email = "ann@example.com"
    names = ["Ann Lee"]
    for _ in range(4):
        names.append(next_display_name(names[-1], email))
    assert names == ["Ann Lee", "Ann Lee (ann@example.com)", "Ann Lee (ann@example.com) 2",
                     "Ann Lee (ann@example.com) 3", "Ann Lee (ann@example.com) 4"]
    # A name that itself ends in a number is not mistaken for a numbered one.
    assert next_display_name("Suite 12", email) == "Suite 12 (ann@example.com)"
    long = next_display_name(disambiguated("z" * 499, email), email)
    assert len(long) == 500 and long.endswith("(ann@example.com) 2")
