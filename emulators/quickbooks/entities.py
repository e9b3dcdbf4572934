"""Entity rules and writes: what QBO validates, fills in and recomputes on create, update, void, delete.

Name lists live in ``people`` (customers, vendors, employees), payments in ``payments``, voids in
``voids``, DocNumbers in ``docnumbers`` and customer balances in ``balances``; this module holds the
sales forms, items and accounts, and the write operations that route to all of them.

Every function here expects the caller to hold ``store.lock``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from emulators.quickbooks import balances, docnumbers, faults, payments, people, totals, voids
from emulators.quickbooks.clock import now, parse_instant, txn_date
from emulators.quickbooks.records import READ_ONLY, bump, check_sync_token, current, ordered, stamp
from emulators.quickbooks.refs import (
    check_currency,
    check_date,
    check_name,
    optional_date,
    ref_value,
    resolve_ref,
    unique_name,
)
from emulators.quickbooks.schema import LINE, PROPERTIES
from emulators.quickbooks.store import HAS_ACTIVE, Company, Record, Store

__all__ = ["current"]

# Computed by QBO: whatever the client sends for these is replaced.
COMPUTED = {
    "Invoice": ("TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt"),
    "SalesReceipt": ("TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt"),
    "RefundReceipt": ("TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "RemainingCredit"),
    "Payment": ("UnappliedAmt",),
    "Customer": ("Balance", "BalanceWithJobs", "FullyQualifiedName"),
    "Vendor": ("Balance", "FullyQualifiedName"),
    "Employee": ("FullyQualifiedName",),
    "Item": ("FullyQualifiedName",),
    "Account": ("FullyQualifiedName", "CurrentBalance", "CurrentBalanceWithSubAccounts"),
}
DELETABLE = frozenset({"Payment", "SalesReceipt", "RefundReceipt", "Invoice"})
COPIED_FROM_CUSTOMER = (("BillAddr", "BillAddr"), ("ShipAddr", "ShipAddr"), ("PrimaryEmailAddr", "BillEmail"))
ACCOUNT_CLASSIFICATION = {
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
}


@dataclass(frozen=True)
class Options:
    """What a request says beside its body: ``include=...`` values (``optionsData`` in a batch)."""

    include: frozenset[str] = frozenset()
    seeding: bool = False

    @classmethod
    def parse(cls, raw: Any) -> Options:
        """``include`` values: one string, comma-separated ones, or a list (repeated parameters,
        ``optionsData`` arrays)."""
        values = raw if isinstance(raw, list) else [raw]
        words = (w.strip().lower() for v in values if v for w in str(v).split(","))
        return cls(frozenset(w for w in words if w))

    @property
    def allow_duplicate_doc_number(self) -> bool:
        return "allowduplicatedocnum" in self.include


Rules = Callable[[Store, Company, dict[str, Any], Record | None, Options], dict[str, Any]]


# ---------------------------------------------------------------- shared helpers


def check_properties(entity: str, body: dict[str, Any]) -> None:
    known = PROPERTIES[entity]
    for key in body:
        if key not in known:
            raise faults.unsupported_property(key, entity, sorted(known))
    lines = body.get("Line")
    if lines is not None:
        if not isinstance(lines, list):
            raise faults.malformed_body("Line")
        for line in lines:
            if not isinstance(line, dict):
                raise faults.malformed_body("Line")
            for key in line:
                if key not in LINE:
                    raise faults.unsupported_property(key, "Line", sorted(LINE))


# ---------------------------------------------------------------- per-entity rules


def _item(store: Store, company: Company, body: dict[str, Any], old: Record | None, _: Options) -> dict[str, Any]:
    name = check_name(body.get("Name"), "Name")
    unique_name(company, "Item", name, old.body["Id"] if old else None)
    body["Name"] = name
    body["FullyQualifiedName"] = name
    body.setdefault("Active", True)
    body.setdefault("Type", "Service")
    body.setdefault("Taxable", False)
    body.setdefault("UnitPrice", 0)
    if body.get("IncomeAccountRef") is not None:
        body["IncomeAccountRef"] = resolve_ref(
            company, "Account", body["IncomeAccountRef"], "IncomeAccountRef", True
        )
    return body


def _account(
    store: Store, company: Company, body: dict[str, Any], old: Record | None, _: Options
) -> dict[str, Any]:
    name = check_name(body.get("Name"), "Name")
    unique_name(company, "Account", name, old.body["Id"] if old else None)
    if not body.get("AccountType") and not body.get("AccountSubType"):
        raise faults.required("AccountType")
    body["Name"] = name
    body["FullyQualifiedName"] = name
    body.setdefault("AccountType", "Other Current Asset")
    body.setdefault("Classification", ACCOUNT_CLASSIFICATION.get(body["AccountType"], "Asset"))
    body.setdefault("Active", True)
    body.setdefault("SubAccount", False)
    body["CurrentBalance"] = 0
    body["CurrentBalanceWithSubAccounts"] = 0
    check_currency(company, body)
    return body


def _default_item(company: Company) -> dict[str, str]:
    record = company.live("Item", "1")
    if record is None:
        record = next((r for r in company.entities["Item"].values() if not r.deleted), None)
    if record is None:
        raise faults.required("Line.SalesItemLineDetail.ItemRef")
    return {"value": record.body["Id"], "name": record.body["Name"]}


def _sales(entity: str) -> Rules:
    def rules(
        store: Store, company: Company, body: dict[str, Any], old: Record | None, options: Options
    ) -> dict[str, Any]:
        entity_id = old.body["Id"] if old else None
        if old is not None and (entity, entity_id) in company.voided:
            raise faults.business(f"A voided {entity} cannot be changed", entity)
        customer = resolve_ref(company, "Customer", body.get("CustomerRef"), "CustomerRef", entity == "Invoice")
        if customer is not None:
            body["CustomerRef"] = customer
            if old is None:  # a new transaction starts from the customer's addresses and email
                source = company.entities["Customer"][customer["value"]].body
                for field_name, target in COPIED_FROM_CUSTOMER:
                    if source.get(field_name) and target not in body:
                        body[target] = source[field_name]
        if not body.get("Line"):
            raise faults.required("Line")
        lines = []
        for raw in body["Line"]:
            line = dict(raw)
            if line.get("DetailType") == "SalesItemLineDetail":
                detail = dict(line.get("SalesItemLineDetail") or {})
                ref = detail.get("ItemRef")
                detail["ItemRef"] = (
                    resolve_ref(company, "Item", ref, "ItemRef", True) if ref_value(ref) else _default_item(company)
                )
                detail.setdefault("TaxCodeRef", {"value": "NON"})
                line["SalesItemLineDetail"] = detail
            lines.append(line)
        body["Line"] = lines
        check_currency(company, body)
        if not company.tax_pref("UsingSalesTax"):
            # Sales tax off: TxnTaxDetail "is ignored and not stored" (Intuit's RefundReceipt reference).
            body.pop("TxnTaxDetail", None)
        total = totals.compute(body, company.tax_rates)
        optional_date(body, "TxnDate")
        body.setdefault("TxnDate", txn_date(now()))
        check_date(body["TxnDate"], "TxnDate")
        docnumbers.assign(
            company, entity, body, old.body if old else None, options.allow_duplicate_doc_number, options.seeding
        )
        body.setdefault("ApplyTaxAfterDiscount", False)
        body.setdefault("PrintStatus", "NotSet")
        body.setdefault("EmailStatus", "NotSet")
        if entity == "Invoice":
            optional_date(body, "DueDate")
            body.setdefault("DueDate", (date.fromisoformat(body["TxnDate"]) + timedelta(days=30)).isoformat())
            check_date(body["DueDate"], "DueDate")
            for flag in (
                "AllowIPNPayment",
                "AllowOnlinePayment",
                "AllowOnlineCreditCardPayment",
                "AllowOnlineACHPayment",
            ):
                body.setdefault(flag, False)
            paid = sum(company.applied.get(entity_id or "", {}).values(), Decimal(0))
            if total < paid:
                raise faults.business(
                    "The invoice total cannot be less than the payments applied to it", "TotalAmt"
                )
            body["Balance"] = totals.money(total - paid)
            body["LinkedTxn"] = [
                {"TxnId": pid, "TxnType": "Payment"} for pid in company.applied.get(entity_id or "", {})
            ]
        else:
            body["Balance"] = 0
            deposit = body.get("DepositToAccountRef")
            if ref_value(deposit):
                body["DepositToAccountRef"] = resolve_ref(company, "Account", deposit, "DepositToAccountRef", True)
            elif entity == "RefundReceipt":
                # QBO needs the account the refund is paid from; it picks no default.
                raise faults.required("DepositToAccountRef")
            elif (default := payments.default_deposit_account(company)) is not None:
                body["DepositToAccountRef"] = default
        return body

    return rules


def _plain(
    rules: Callable[[Store, Company, dict[str, Any], Record | None], dict[str, Any]],
) -> Rules:
    def wrapped(
        store: Store, company: Company, body: dict[str, Any], old: Record | None, _: Options
    ) -> dict[str, Any]:
        return rules(store, company, body, old)

    return wrapped


RULES: dict[str, Rules] = {
    "Customer": _plain(people.customer),
    "Vendor": _plain(people.vendor),
    "Employee": _plain(people.employee),
    "Item": _item,
    "Account": _account,
    "Invoice": _sales("Invoice"),
    "SalesReceipt": _sales("SalesReceipt"),
    "RefundReceipt": _sales("RefundReceipt"),
    "Payment": _plain(payments.rules),
}


# ---------------------------------------------------------------- writes


def _index(company: Company, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Keep the indexes (names, emails, DocNumbers, customer balances) in step with a change."""
    if entity in HAS_ACTIVE:
        people.index(company, entity, old, new)
    if entity in docnumbers.SALES_FORMS:
        docnumbers.index(company, entity, old, new)
    if entity == "Invoice":
        balances.track_invoice(company, old, new)


def create(
    store: Store, company: Company, entity: str, payload: dict[str, Any], options: Options | None = None
) -> dict[str, Any]:
    options = options or Options()
    check_properties(entity, payload)
    body = {k: v for k, v in payload.items() if k not in READ_ONLY and k not in COMPUTED[entity]}
    body = RULES[entity](store, company, body, None, options)
    ts = int(now())
    created = updated = ts
    if options.seeding:
        meta = payload.get("MetaData") or {}
        created = int(parse_instant(meta["CreateTime"])) if meta.get("CreateTime") else ts
        updated = int(parse_instant(meta["LastUpdatedTime"])) if meta.get("LastUpdatedTime") else created
    entity_id = str(payload["Id"]) if options.seeding and payload.get("Id") else company.new_id(entity)
    if options.seeding and company.entities[entity].get(entity_id) is not None:
        raise faults.business(f"{entity} {entity_id} already exists")
    company.claim_id(entity, entity_id)
    body["Id"] = entity_id
    body["SyncToken"] = "0"
    stamp(body, created, updated)
    body = ordered(body)
    company.entities[entity][entity_id] = Record(body, created, updated, store.next_seq())
    _index(company, entity, None, body)
    if entity == "Payment":
        payments.apply(store, company, body, previous=None)
    return body


def update(
    store: Store, company: Company, entity: str, payload: dict[str, Any], options: Options | None = None
) -> dict[str, Any]:
    options = options or Options()
    if "void" in options.include:
        return voids.void_by_update(store, company, entity, payload)
    check_properties(entity, payload)
    record = current(company, entity, payload.get("Id"))
    check_sync_token(entity, record, payload)
    sent = {k: v for k, v in payload.items() if k not in READ_ONLY and k not in COMPUTED[entity]}
    if payload.get("sparse") is True:
        base = {k: v for k, v in record.body.items() if k not in READ_ONLY and k not in COMPUTED[entity]}
        tax = base.get("TxnTaxDetail")
        if isinstance(tax, dict) and tax.get("TaxLine") and "TxnTaxDetail" not in sent:
            base["TxnTaxDetail"] = {k: v for k, v in tax.items() if k not in ("TotalTax", "TaxLine")}
        sent = base | sent
    old = record.body
    body = RULES[entity](store, company, sent, record, options)
    body["Id"] = old["Id"]
    body["SyncToken"] = old["SyncToken"]
    body["MetaData"] = old["MetaData"]
    body = ordered(body)
    bump(store, record, body)
    _index(company, entity, old, record.body)
    if entity == "Payment":
        payments.apply(store, company, record.body, previous=old)
    return record.body


def write(
    store: Store, company: Company, entity: str, payload: dict[str, Any], options: Options | None = None
) -> dict[str, Any]:
    """POST {entity}: an update when the body names an Id, else a create."""
    if not isinstance(payload, dict):
        raise faults.malformed_body(entity)
    if payload.get("Id") is not None:
        return update(store, company, entity, payload, options)
    if options is not None and "void" in options.include:
        raise faults.required("Id")
    return create(store, company, entity, payload, options)


def delete(store: Store, company: Company, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    if entity not in DELETABLE:
        raise faults.unsupported_operation("delete", entity)
    record = current(company, entity, payload.get("Id"))
    check_sync_token(entity, record, payload)
    entity_id = record.body["Id"]
    if entity == "Invoice" and company.applied.get(entity_id):
        raise faults.business("This invoice has a payment linked to it. Delete the payment first.", "Invoice")
    old = record.body
    if entity == "Payment":
        payments.apply(store, company, None, previous=old)
    tombstone = {"domain": "QBO", "status": "Deleted", "Id": entity_id}
    record.body = tombstone
    record.deleted = True
    record.updated = int(now())
    record.seq = store.next_seq()
    _index(company, entity, old, None)
    return tombstone


def void(store: Store, company: Company, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``operation=void``: invoices only (payments and sales receipts void through an update)."""
    if entity != "Invoice":
        raise faults.unsupported_operation("void", entity)
    return voids.void_invoice(store, company, payload)


# ---------------------------------------------------------------- company defaults


def seed_defaults(store: Store, company: Company) -> None:
    """What a new QBO company starts with, so that transactions have refs to use."""
    create(
        store,
        company,
        "Account",
        {
            "Name": "Sales of Product Income",
            "AccountType": "Income",
            "AccountSubType": "SalesOfProductIncome",
        },
    )
    create(
        store,
        company,
        "Account",
        {
            "Name": "Undeposited Funds",
            "AccountType": "Other Current Asset",
            "AccountSubType": "UndepositedFunds",
        },
    )
    create(
        store,
        company,
        "Account",
        {"Name": "Discounts given", "AccountType": "Income", "AccountSubType": "DiscountsRefundsGiven"},
    )
    create(
        store, company, "Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    )
