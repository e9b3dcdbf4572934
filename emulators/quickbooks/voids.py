"""Voids: the transaction stays, its amounts become zero and its PrivateNote starts with "Voided".

- Invoice: ``POST /invoice?operation=void`` with ``{Id, SyncToken}``; refused while a payment is
  linked to it (delete or void the payment first).
- Payment and SalesReceipt: ``POST /{entity}?operation=update&include=void`` with
  ``{Id, SyncToken, sparse: true}`` (in a batch: ``operation: update``, ``optionsData: void``). Intuit's
  Payment and SalesReceipt references ("Void a payment", "Void a sales receipt"), and python-quickbooks'
  integration tests test_payment::test_void and test_salesreceipt::test_void, which read back TotalAmt
  0 and a PrivateNote containing "Voided" from a sandbox. A voided payment loses its lines (the
  reference's answer shows ``Line: []``), so the invoices it paid get their balances back.

A voided transaction cannot be changed again. Callers hold ``store.lock``.
"""

from __future__ import annotations

from typing import Any

from emulators.quickbooks import balances, faults, payments
from emulators.quickbooks.records import bump, check_sync_token, current
from emulators.quickbooks.store import Company, Store

VOID_BY_UPDATE = frozenset({"Payment", "SalesReceipt"})


def _note(body: dict[str, Any]) -> str:
    note = body.get("PrivateNote")
    return f"Voided - {note}" if note else "Voided"


def _zero_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        line = dict(line)
        line["Amount"] = 0
        if "SalesItemLineDetail" in line:
            detail = {k: v for k, v in line["SalesItemLineDetail"].items() if k != "UnitPrice"}
            if "Qty" in detail:
                detail["Qty"] = 0
            line["SalesItemLineDetail"] = detail
        out.append(line)
    return out


def void_invoice(store: Store, company: Company, payload: dict[str, Any]) -> dict[str, Any]:
    record = current(company, "Invoice", payload.get("Id"))
    check_sync_token("Invoice", record, payload)
    entity_id = record.body["Id"]
    if company.applied.get(entity_id):
        raise faults.business(
            "This invoice has a payment linked to it and cannot be voided. Delete the payment first.",
            "Invoice",
        )
    old = record.body
    body = dict(old)
    lines = []
    for line in body.get("Line", []):
        line = dict(line)
        line["Amount"] = 0
        if "SalesItemLineDetail" in line:
            line["SalesItemLineDetail"] = {
                k: v for k, v in line["SalesItemLineDetail"].items() if k not in ("Qty", "UnitPrice")
            }
        lines.append(line)
    body["Line"] = lines
    body["TxnTaxDetail"] = {"TotalTax": 0}
    body["TotalAmt"] = 0
    body["Balance"] = 0
    body["PrivateNote"] = _note(old)
    company.voided.add(("Invoice", entity_id))
    bump(store, record, body)
    balances.track_invoice(company, old, record.body)
    return record.body


def void_by_update(store: Store, company: Company, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    if entity not in VOID_BY_UPDATE:
        raise faults.unsupported_operation("void", entity)
    record = current(company, entity, payload.get("Id"))
    check_sync_token(entity, record, payload)
    entity_id = record.body["Id"]
    if (entity, entity_id) in company.voided:
        raise faults.business(f"This {entity} is already voided", entity)
    old = record.body
    body = dict(old)
    body["TotalAmt"] = 0
    body["PrivateNote"] = _note(old)
    if entity == "Payment":
        body["Line"] = []
        body["UnappliedAmt"] = 0
    else:
        body["Line"] = _zero_lines(body.get("Line", []))
        body["TxnTaxDetail"] = {"TotalTax": 0}
        body["Balance"] = 0
    company.voided.add((entity, entity_id))
    bump(store, record, body)
    if entity == "Payment":
        payments.apply(store, company, record.body, previous=old)
    return record.body
