"""Which step QBO still needs for a queued invoice (pure): one step at a time, in lifecycle order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qbo_crm_sync.flows.invoices.load import next_step
from qbo_crm_sync.store.outbox import Item


def write(paid: str = "0.00", fingerprint: str = "f1") -> Item:
    return Item("inv1", {"invoice": {}, "fingerprint": fingerprint, "paid": paid}, "h")


def void() -> Item:
    return Item("inv1", {"void": "void"}, "h")


def state(**extra: Any) -> dict[str, Any]:
    return {"invoice_id": "12", "written": "f1", "paid_total": Decimal(0), "qbo_voided": False} | extra


PAYMENT = {"payment_id": "31", "voided": False}


def test_a_new_invoice_is_created_first() -> None:
    assert next_step(write(), {}, []) == "create"
    assert next_step(write("50.00"), {"invoice_id": None}, []) == "create"


def test_changed_lines_come_before_payments() -> None:
    assert next_step(write("50.00", fingerprint="f2"), state(), []) == "update"
    assert next_step(write("50.00"), state(), []) == "pay"
    assert next_step(write("50.00"), state(paid_total=Decimal("50.00")), [PAYMENT]) is None
    # Less paid in the CRM than QBO holds: nothing is taken back (the row's reason says so).
    assert next_step(write("10.00"), state(paid_total=Decimal("50.00")), [PAYMENT]) is None


def test_a_void_removes_this_syncs_payments_first() -> None:
    assert next_step(void(), state(), [PAYMENT]) == "unpay"
    assert next_step(void(), state(), [PAYMENT | {"voided": True}]) == "void"
    assert next_step(void(), state(), [{"payment_id": None, "voided": False}]) == "void"
    assert next_step(void(), state(qbo_voided=True), []) is None
    assert next_step(void(), {}, []) is None  # never in QBO: nothing to void


def test_a_voided_quickbooks_invoice_stays_voided() -> None:
    assert next_step(write("50.00", fingerprint="f2"), state(qbo_voided=True), []) is None
