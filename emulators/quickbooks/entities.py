"""Entity rules and writes: what QBO validates, fills in and recomputes on create, update, void, delete.

Every function here expects the caller to hold ``store.lock``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from emulators.quickbooks import faults, totals
from emulators.quickbooks.clock import meta_time, now, parse_instant, txn_date
from emulators.quickbooks.schema import LINE, PROPERTIES
from emulators.quickbooks.store import HAS_ACTIVE, Company, Record, Store

READ_ONLY = ("Id", "SyncToken", "MetaData", "domain", "sparse", "status")
# Computed by QBO: whatever the client sends for these is replaced.
COMPUTED = {
    "Invoice": ("TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt"),
    "SalesReceipt": ("TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt"),
    "RefundReceipt": ("TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "RemainingCredit"),
    "Payment": ("UnappliedAmt",),
    "Customer": ("Balance", "BalanceWithJobs", "FullyQualifiedName"),
    "Item": ("FullyQualifiedName",),
    "Account": ("FullyQualifiedName", "CurrentBalance", "CurrentBalanceWithSubAccounts"),
}
DELETABLE = frozenset({"Payment", "SalesReceipt", "RefundReceipt", "Invoice"})
NAME_MAX = 500
COPIED_FROM_CUSTOMER = (("BillAddr", "BillAddr"), ("ShipAddr", "ShipAddr"), ("PrimaryEmailAddr", "BillEmail"))
BAD_NAME_CHARS = (":", "\t", "\n", "\r")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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


def _ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    return None


def _name_of(entity: str, record: Record) -> str:
    body = record.body
    return str(body.get("DisplayName") or body.get("Name") or "")


def _resolve_ref(
    company: Company, entity: str, ref: Any, field_name: str, required: bool
) -> dict[str, Any] | None:
    """A reference to an existing, active entity, with its ``name`` filled in as QBO answers it."""
    value = _ref_value(ref)
    if value is None:
        if required:
            raise faults.required(field_name)
        return None
    target = company.live(entity, value)
    if target is None:
        raise faults.invalid_reference(entity, value)
    if entity in HAS_ACTIVE and target.body.get("Active") is False:
        raise faults.object_not_found(entity, value)
    return {"value": value, "name": _name_of(entity, target)}


def _check_currency(company: Company, body: dict[str, Any]) -> None:
    code = _ref_value(body.get("CurrencyRef"))
    if code is None or code == company.home_currency:
        body["CurrencyRef"] = company.currency_ref()
        return
    if not company.multicurrency:
        raise faults.business(
            f"Multicurrency is not enabled for this company; currency {code} differs from the home currency "
            f"{company.home_currency}",
            "CurrencyRef",
        )
    body["CurrencyRef"] = company.currency_ref(code)
    body.setdefault("ExchangeRate", 1)


def _unique_name(company: Company, entity: str, name: str, own_id: str | None) -> None:
    holder = company.names[entity].get(name.casefold())
    if holder is not None and holder != own_id:
        raise faults.duplicate_name()


def _check_name(name: Any, field_name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise faults.required(field_name)
    name = name.strip()
    if len(name) > NAME_MAX:
        raise faults.validation(
            "String length is either shorter or longer than supported by specification",
            f"{field_name} is longer than the maximum of {NAME_MAX} characters: {len(name)}",
            "2050",
            field_name,
        )
    if any(ch in name for ch in BAD_NAME_CHARS):
        raise faults.validation(
            "Invalid character",
            f"{field_name} cannot contain a colon (:), a tab or a newline",
            "2040",
            field_name,
        )
    return name


# ---------------------------------------------------------------- per-entity rules


def _customer(company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    name = body.get("DisplayName")
    if not name:
        parts = [body.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
        name = " ".join(str(p).strip() for p in parts if p) or body.get("CompanyName")
    if not name:
        raise faults.required("DisplayName")
    name = _check_name(name, "DisplayName")
    own_id = old.body["Id"] if old else None
    full_name = name
    parent_id = _ref_value(body.get("ParentRef"))
    if parent_id is not None:  # a sub-customer (job): its name is unique under its parent only
        parent = company.live("Customer", parent_id)
        if parent is None or parent_id == own_id:
            raise faults.invalid_reference("Customer", parent_id)
        full_name = f"{parent.body['FullyQualifiedName']}:{name}"
        body["ParentRef"] = {"value": parent_id}
        body["Job"] = True
        body["Level"] = int(parent.body.get("Level") or 0) + 1
    else:
        body.pop("Level", None)
    _unique_name(company, "Customer", full_name, own_id)
    email = body.get("PrimaryEmailAddr")
    if email is not None:
        address = email.get("Address") if isinstance(email, dict) else None
        if address is not None and not EMAIL.match(str(address).strip()):
            raise faults.business(
                f"Email Address does not conform to the syntax rules: {address}", "PrimaryEmailAddr"
            )
    _check_currency(company, body)
    body["DisplayName"] = name
    body["FullyQualifiedName"] = full_name
    body.setdefault("PrintOnCheckName", name[:110])
    body.setdefault("Active", True)
    defaults = {"Taxable": True, "Job": False, "BillWithParent": False, "PreferredDeliveryMethod": "Print"}
    for key, value in defaults.items():
        body.setdefault(key, value)
    body["Balance"] = old.body.get("Balance", 0) if old else 0
    body["BalanceWithJobs"] = body["Balance"]
    return body


def _item(company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    name = _check_name(body.get("Name"), "Name")
    _unique_name(company, "Item", name, old.body["Id"] if old else None)
    body["Name"] = name
    body["FullyQualifiedName"] = name
    body.setdefault("Active", True)
    body.setdefault("Type", "Service")
    body.setdefault("Taxable", False)
    body.setdefault("UnitPrice", 0)
    if body.get("IncomeAccountRef") is not None:
        body["IncomeAccountRef"] = _resolve_ref(
            company, "Account", body["IncomeAccountRef"], "IncomeAccountRef", True
        )
    return body


def _account(company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    name = _check_name(body.get("Name"), "Name")
    _unique_name(company, "Account", name, old.body["Id"] if old else None)
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
    _check_currency(company, body)
    return body


def _default_item(company: Company) -> dict[str, str]:
    record = company.live("Item", "1")
    if record is None:
        record = next((r for r in company.entities["Item"].values() if not r.deleted), None)
    if record is None:
        raise faults.required("Line.SalesItemLineDetail.ItemRef")
    return {"value": record.body["Id"], "name": record.body["Name"]}


def _default_deposit_account(company: Company) -> dict[str, str] | None:
    for record in company.entities["Account"].values():
        if not record.deleted and record.body.get("Name") == "Undeposited Funds":
            return {"value": record.body["Id"], "name": "Undeposited Funds"}
    return None


def _sales(entity: str) -> Callable[[Company, dict[str, Any], Record | None], dict[str, Any]]:
    def rules(company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
        entity_id = old.body["Id"] if old else None
        if entity == "Invoice" and entity_id in company.voided:
            raise faults.business("A voided invoice cannot be changed", "Invoice")
        customer = _resolve_ref(
            company, "Customer", body.get("CustomerRef"), "CustomerRef", entity == "Invoice"
        )
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
                    _resolve_ref(company, "Item", ref, "ItemRef", True)
                    if _ref_value(ref)
                    else _default_item(company)
                )
                detail.setdefault("TaxCodeRef", {"value": "NON"})
                line["SalesItemLineDetail"] = detail
            lines.append(line)
        body["Line"] = lines
        _check_currency(company, body)
        total = totals.compute(body, company.tax_rates)
        today = txn_date(now())
        body.setdefault("TxnDate", today)
        _check_date(body["TxnDate"], "TxnDate")
        if not body.get("DocNumber"):
            body["DocNumber"] = str(company.next_doc_number)
            company.next_doc_number += 1
        body.setdefault("ApplyTaxAfterDiscount", False)
        body.setdefault("PrintStatus", "NotSet")
        body.setdefault("EmailStatus", "NotSet")
        if entity == "Invoice":
            body.setdefault("DueDate", (date.fromisoformat(body["TxnDate"]) + timedelta(days=30)).isoformat())
            _check_date(body["DueDate"], "DueDate")
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
            if _ref_value(deposit):
                body["DepositToAccountRef"] = _resolve_ref(
                    company, "Account", deposit, "DepositToAccountRef", True
                )
            elif entity == "RefundReceipt":
                # QBO needs the account the refund is paid from; it picks no default.
                raise faults.required("DepositToAccountRef")
            elif (default := _default_deposit_account(company)) is not None:
                body["DepositToAccountRef"] = default
        return body

    return rules


def _check_date(value: Any, field_name: str) -> None:
    try:
        date.fromisoformat(str(value))
    except ValueError as exc:
        raise faults.business(f"{field_name} is not a valid date: {value}", field_name) from exc


def _payment(company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    own_id = old.body["Id"] if old else ""
    customer = _resolve_ref(company, "Customer", body.get("CustomerRef"), "CustomerRef", True)
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
    for invoice_id, amount in _links({"Line": lines}).items():
        invoice = company.live("Invoice", invoice_id)
        if invoice is None:
            raise faults.invalid_reference("Invoice", invoice_id)
        if invoice.body["CustomerRef"]["value"] != customer["value"]:  # type: ignore[index]
            raise faults.business("The invoice belongs to another customer", "LinkedTxn")
        already = company.applied.get(invoice_id, {}).get(own_id, Decimal(0))
        open_balance = totals.dec(invoice.body.get("Balance", 0)) + already
        if amount > open_balance:
            raise faults.business(
                f"The amount applied to invoice {invoice_id} exceeds its open balance of {open_balance}",
                "Line.Amount",
            )
    if applied > total:
        raise faults.business("The amounts applied exceed the payment total", "TotalAmt")
    _check_currency(company, body)
    body["Line"] = lines
    body["TotalAmt"] = totals.money(total)
    body["UnappliedAmt"] = totals.money(total - applied)
    body.setdefault("ProcessPayment", False)
    body.setdefault("TxnDate", txn_date(now()))
    _check_date(body["TxnDate"], "TxnDate")
    deposit = body.get("DepositToAccountRef")
    if _ref_value(deposit):
        _resolve_ref(company, "Account", deposit, "DepositToAccountRef", True)
        body["DepositToAccountRef"] = {"value": _ref_value(deposit)}  # QBO names no account on payments
    elif (default := _default_deposit_account(company)) is not None:
        body["DepositToAccountRef"] = {"value": default["value"]}
    return body


RULES: dict[str, Callable[[Company, dict[str, Any], Record | None], dict[str, Any]]] = {
    "Customer": _customer,
    "Item": _item,
    "Account": _account,
    "Invoice": _sales("Invoice"),
    "SalesReceipt": _sales("SalesReceipt"),
    "RefundReceipt": _sales("RefundReceipt"),
    "Payment": _payment,
}


# ---------------------------------------------------------------- writes


def _index(company: Company, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    if entity in HAS_ACTIVE:
        if old is not None:
            company.names[entity].pop(str(old.get("FullyQualifiedName", "")).casefold(), None)
        if new is not None:
            company.names[entity][str(new["FullyQualifiedName"]).casefold()] = new["Id"]
    if entity == "Customer":
        if old is not None:
            company.display_names.get(str(old.get("DisplayName", "")).casefold(), set()).discard(old["Id"])
        if new is not None:
            company.display_names.setdefault(str(new["DisplayName"]).casefold(), set()).add(new["Id"])
        if old is not None:
            email = _email_key(old)
            if email:
                company.emails.get(email, set()).discard(old["Id"])
        if new is not None:
            email = _email_key(new)
            if email:
                company.emails.setdefault(email, set()).add(new["Id"])


def _email_key(body: dict[str, Any]) -> str:
    email = body.get("PrimaryEmailAddr")
    return str(email.get("Address") or "").strip().casefold() if isinstance(email, dict) else ""


def _stamp(body: dict[str, Any], created: int, updated: int) -> None:
    body["MetaData"] = {"CreateTime": meta_time(created), "LastUpdatedTime": meta_time(updated)}


def _ordered(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """QBO's habit: domain, sparse, Id, SyncToken, MetaData first, then the rest."""
    head = {
        "domain": "QBO",
        "sparse": False,
        "Id": body["Id"],
        "SyncToken": body["SyncToken"],
        "MetaData": body["MetaData"],
    }
    return head | {k: v for k, v in body.items() if k not in head}


def create(
    store: Store, company: Company, entity: str, payload: dict[str, Any], seeding: bool = False
) -> dict[str, Any]:
    check_properties(entity, payload)
    body = {k: v for k, v in payload.items() if k not in READ_ONLY and k not in COMPUTED[entity]}
    body = RULES[entity](company, body, None)
    ts = int(now())
    created = updated = ts
    if seeding:
        meta = payload.get("MetaData") or {}
        created = int(parse_instant(meta["CreateTime"])) if meta.get("CreateTime") else ts
        updated = int(parse_instant(meta["LastUpdatedTime"])) if meta.get("LastUpdatedTime") else created
    entity_id = str(payload["Id"]) if seeding and payload.get("Id") else company.new_id(entity)
    if seeding and company.entities[entity].get(entity_id) is not None:
        raise faults.business(f"{entity} {entity_id} already exists")
    company.claim_id(entity, entity_id)
    body["Id"] = entity_id
    body["SyncToken"] = "0"
    _stamp(body, created, updated)
    body = _ordered(entity, body)
    company.entities[entity][entity_id] = Record(body, created, updated, store.next_seq())
    _index(company, entity, None, body)
    if entity == "Payment":
        _apply_payment(store, company, body, previous=None)
    return body


def current(company: Company, entity: str, entity_id: Any) -> Record:
    record = company.live(entity, entity_id) if entity_id is not None else None
    if record is None:
        raise faults.object_not_found(entity, str(entity_id))
    return record


def _check_sync_token(entity: str, record: Record, payload: dict[str, Any]) -> None:
    token = payload.get("SyncToken")
    if token is None:
        raise faults.required("SyncToken")
    if str(token) != record.body["SyncToken"]:
        raise faults.stale(entity)


def _bump(store: Store, record: Record, body: dict[str, Any]) -> None:
    ts = int(now())
    body["SyncToken"] = str(int(record.body["SyncToken"]) + 1)
    _stamp(body, record.created, ts)
    record.body = body
    record.updated = ts
    record.seq = store.next_seq()


def update(store: Store, company: Company, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    check_properties(entity, payload)
    record = current(company, entity, payload.get("Id"))
    _check_sync_token(entity, record, payload)
    sent = {k: v for k, v in payload.items() if k not in READ_ONLY and k not in COMPUTED[entity]}
    if payload.get("sparse") is True:
        base = {k: v for k, v in record.body.items() if k not in READ_ONLY and k not in COMPUTED[entity]}
        tax = base.get("TxnTaxDetail")
        if isinstance(tax, dict) and tax.get("TaxLine") and "TxnTaxDetail" not in sent:
            base["TxnTaxDetail"] = {k: v for k, v in tax.items() if k not in ("TotalTax", "TaxLine")}
        sent = base | sent
    old = record.body
    body = RULES[entity](company, sent, record)
    body["Id"] = old["Id"]
    body["SyncToken"] = old["SyncToken"]
    body["MetaData"] = old["MetaData"]
    body = _ordered(entity, body)
    _bump(store, record, body)
    _index(company, entity, old, record.body)
    if entity == "Payment":
        _apply_payment(store, company, record.body, previous=old)
    return record.body


def write(store: Store, company: Company, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST {entity}: an update when the body names an Id, else a create."""
    if not isinstance(payload, dict):
        raise faults.malformed_body(entity)
    if payload.get("Id") is not None:
        return update(store, company, entity, payload)
    return create(store, company, entity, payload)


def delete(store: Store, company: Company, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    if entity not in DELETABLE:
        raise faults.unsupported_operation("delete", entity)
    record = current(company, entity, payload.get("Id"))
    _check_sync_token(entity, record, payload)
    entity_id = record.body["Id"]
    if entity == "Invoice" and company.applied.get(entity_id):
        raise faults.business("This invoice has a payment linked to it. Delete the payment first.", "Invoice")
    if entity == "Payment":
        _apply_payment(store, company, None, previous=record.body)
    tombstone = {"domain": "QBO", "status": "Deleted", "Id": entity_id}
    ts = int(now())
    record.body = tombstone
    record.deleted = True
    record.updated = ts
    record.seq = store.next_seq()
    return tombstone


def void(store: Store, company: Company, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    if entity != "Invoice":
        raise faults.unsupported_operation("void", entity)
    record = current(company, entity, payload.get("Id"))
    _check_sync_token(entity, record, payload)
    entity_id = record.body["Id"]
    if company.applied.get(entity_id):
        raise faults.business(
            "This invoice has a payment linked to it and cannot be voided. Delete the payment first.",
            "Invoice",
        )
    body = dict(record.body)
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
    note = body.get("PrivateNote")
    body["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    company.voided.add(entity_id)
    _bump(store, record, body)
    return record.body


def _links(body: dict[str, Any] | None) -> dict[str, Decimal]:
    """Invoice id -> amount a payment body applies to it."""
    out: dict[str, Decimal] = {}
    for line in (body or {}).get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == "Invoice":
                key = str(link.get("TxnId"))
                out[key] = out.get(key, Decimal(0)) + totals.cents(totals.dec(line.get("Amount", 0)))
    return out


def _apply_payment(
    store: Store, company: Company, new: dict[str, Any] | None, previous: dict[str, Any] | None
) -> None:
    """Move invoice balances by what a payment applies: undo ``previous``, apply ``new``.

    Each invoice whose balance moves gets a new SyncToken and LastUpdatedTime, as in QBO.
    """
    pid = (new or previous or {})["Id"]
    before, after = _links(previous), _links(new)
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
        body = dict(record.body)
        paid = sum(applied.values(), Decimal(0))
        body["Balance"] = totals.money(totals.dec(body["TotalAmt"]) - paid)
        body["LinkedTxn"] = [{"TxnId": p, "TxnType": "Payment"} for p in applied]
        _bump(store, record, body)


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
