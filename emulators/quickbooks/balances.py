"""Customer balances: Customer.Balance is the sum of the customer's open invoice balances, and
BalanceWithJobs adds those of its sub-customers, all the way down (Intuit's Customer reference: "the
open balance amount or the amount unpaid by the customer", "cumulative open balance amount for the
Customer (or Job) and all its sub-jobs").

Every change to an invoice's balance (create, update, payment applied or removed, void, delete) moves
them. Judgement: the customer's SyncToken and LastUpdatedTime stay as they are, since nothing about the
customer itself was written, so a client holding the customer's SyncToken can still update it.

Callers hold ``store.lock``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from emulators.quickbooks import totals
from emulators.quickbooks.refs import ref_value
from emulators.quickbooks.store import Company

ZERO = Decimal(0)


def track_invoice(company: Company, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Record an invoice's new open balance (``new`` None: deleted) and refresh the customers it moves."""
    touched: set[str] = set()
    if old is not None:
        customer = ref_value(old.get("CustomerRef"))
        if customer is not None:
            company.open_invoices.get(customer, {}).pop(str(old["Id"]), None)
            touched.add(customer)
    if new is not None:
        customer = ref_value(new.get("CustomerRef"))
        if customer is not None:
            balance = totals.dec(new.get("Balance", 0), "Balance")
            company.open_invoices.setdefault(customer, {})[str(new["Id"])] = balance
            touched.add(customer)
    for customer in touched:
        refresh(company, customer)


def own_balance(company: Company, customer_id: str) -> Decimal:
    return sum(company.open_invoices.get(customer_id, {}).values(), ZERO)


def with_jobs(company: Company, customer_id: str) -> Decimal:
    total = own_balance(company, customer_id)
    for child in company.children.get(customer_id, ()):
        total += with_jobs(company, child)
    return total


def refresh(company: Company, customer_id: str | None) -> None:
    """Set Balance and BalanceWithJobs on a customer and on each of its parents."""
    seen: set[str] = set()
    while customer_id is not None and customer_id not in seen:
        seen.add(customer_id)
        record = company.live("Customer", customer_id)
        if record is None:
            return
        balance = totals.money(own_balance(company, customer_id))
        jobs = totals.money(with_jobs(company, customer_id))
        body = record.body
        if body.get("Balance") != balance or body.get("BalanceWithJobs") != jobs:
            record.body = body | {"Balance": balance, "BalanceWithJobs": jobs}
        customer_id = ref_value(body.get("ParentRef"))
