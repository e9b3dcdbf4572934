"""Payments: what QBO checks on one, and how applying it moves the invoices it pays.

Callers hold ``store.lock``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from emulators.quickbooks import balances, faults, totals
from emulators.quickbooks.clock import now, txn_date
from emulators.quickbooks.records import bump
from emulators.quickbooks.refs import check_currency, check_date, optional_date, ref_value, resolve_ref
from emulators.quickbooks.store import Company, Record, Store


def default_deposit_account(company: Company) -> dict[str, str] | None:
    for record in company.entities["Account"].values():
        if not record.deleted and record.body.get("Name") == "Undeposited Funds":
            return {"value": record.body["Id"], "name": "Undeposited Funds"}
    return None


def rules(store: Store, company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    own_id = old.body["Id"] if old else ""
    if old is not None and ("Payment", own_id) in company.voided:
        raise faults.business("A voided payment cannot be changed", "Payment")
    customer = resolve_ref(company, "Customer", body.get("CustomerRef"), "CustomerRef", True)
    body["CustomerRef"] = customer
    if body.get("TotalAmt") is None:
        raise faults.required("TotalAmt")
    total = totals.cents(totals.dec(body["TotalAmt"], "TotalAmt"))
    if total < 0:
        raise faults.business("Payment amount cannot be negative", "TotalAmt")
    applied = Decimal(0)
    lines = []
    for raw in body.get("Line") or []:
        line = dict(raw)
        amount = totals.cents(totals.dec(line.get("Amount"), "Line.Amount"))
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") != "Invoice":
                raise faults.business(
                    f"Payments can only be linked to invoices here, not {link.get('TxnType')}", "LinkedTxn"
                )
        line["Amount"] = totals.money(amount)
        applied += amount
        lines.append(line)
    for invoice_id, amount in links({"Line": lines}).items():
        invoice = company.live("Invoice", invoice_id)
        if invoice is None:
            raise faults.invalid_reference("Invoice", invoice_id)
        if invoice.body["CustomerRef"]["value"] != customer["value"]:  # type: ignore[index]
            raise faults.business("The invoice belongs to another customer", "LinkedTxn")
        if ("Invoice", invoice_id) in company.voided:
            raise faults.business(f"Invoice {invoice_id} is voided and cannot be paid", "LinkedTxn")
        already = company.applied.get(invoice_id, {}).get(own_id, Decimal(0))
        open_balance = totals.dec(invoice.body.get("Balance", 0)) + already
        if amount > open_balance:
            raise faults.business(
                f"The amount applied to invoice {invoice_id} exceeds its open balance of {open_balance}",
                "Line.Amount",
            )
    if applied > total:
        raise faults.business("The amounts applied exceed the payment total", "TotalAmt")
    check_currency(company, body)
    body["Line"] = lines
    body["TotalAmt"] = totals.money(total)
    body["UnappliedAmt"] = totals.money(total - applied)
    body.setdefault("ProcessPayment", False)
    optional_date(body, "TxnDate")
    body.setdefault("TxnDate", txn_date(now()))
    check_date(body["TxnDate"], "TxnDate")
    deposit = body.get("DepositToAccountRef")
    if ref_value(deposit):
        resolve_ref(company, "Account", deposit, "DepositToAccountRef", True)
        body["DepositToAccountRef"] = {"value": ref_value(deposit)}  # QBO names no account on payments
    elif (default := default_deposit_account(company)) is not None:
        body["DepositToAccountRef"] = {"value": default["value"]}
    return body


def links(body: dict[str, Any] | None) -> dict[str, Decimal]:
    """Invoice id -> amount a payment body applies to it."""
    out: dict[str, Decimal] = {}
    for line in (body or {}).get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == "Invoice":
                key = str(link.get("TxnId"))
                out[key] = out.get(key, Decimal(0)) + totals.cents(totals.dec(line.get("Amount", 0)))
    return out


def apply(store: Store, company: Company, new: dict[str, Any] | None, previous: dict[str, Any] | None) -> None:
    """Move invoice balances by what a payment applies: undo ``previous``, apply ``new``.

    Each invoice whose balance moves gets a new SyncToken and LastUpdatedTime, as in QBO, and its
    customer's balance moves with it.
    """
    pid = (new or previous or {})["Id"]
    before, after = links(previous), links(new)
    for invoice_id in sorted(before.keys() | after.keys(), key=lambda k: (len(k), k)):
        if before.get(invoice_id) == after.get(invoice_id):
            continue
        applied = company.applied.setdefault(invoice_id, {})
        if invoice_id in after:
            applied[pid] = after[invoice_id]
        else:
            applied.pop(pid, None)
        if not applied:
            company.applied.pop(invoice_id, None)
        record = company.live("Invoice", invoice_id)
        if record is None:
            continue
        old = record.body
        body = dict(old)
        paid = sum(applied.values(), Decimal(0))
        body["Balance"] = totals.money(totals.dec(body["TotalAmt"]) - paid)
        body["LinkedTxn"] = [{"TxnId": p, "TxnType": "Payment"} for p in applied]
        bump(store, record, body)
        balances.track_invoice(company, old, record.body)
