"""Customers, vendors and employees: the name lists whose DisplayName is one name space.

Intuit's Customer, Vendor and Employee references: DisplayName is unique across all three, inactive
ones included (Fault 6240); it is made from Title, GivenName, MiddleName, FamilyName and Suffix when not
given; it and the name parts carry no colon, tab or newline; an email needs an @ and a dot.
"""

from __future__ import annotations

from typing import Any

from emulators.quickbooks import balances, faults
from emulators.quickbooks.refs import (
    check_currency,
    check_email,
    check_name,
    ref_value,
    unique_name,
)
from emulators.quickbooks.store import NAME_SPACE, Company, Record, Store

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
PRINT_NAME_MAX = {"Customer": 110, "Vendor": 100, "Employee": 100}


def _display_name(body: dict[str, Any], parts: tuple[str, ...] = NAME_PARTS) -> str:
    name = body.get("DisplayName")
    if not name:
        name = " ".join(str(body[k]).strip() for k in parts if body.get(k)) or body.get("CompanyName")
    if not name:
        raise faults.required("DisplayName")
    return check_name(name, "DisplayName")


def _common(entity: str, body: dict[str, Any], name: str) -> None:
    for part in NAME_PARTS:
        if body.get(part):
            check_name(body[part], part)
    check_email(body)
    body["DisplayName"] = name
    body.setdefault("PrintOnCheckName", name[: PRINT_NAME_MAX[entity]])
    body.setdefault("Active", True)


def customer(store: Store, company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    name = _display_name(body)
    own_id = old.body["Id"] if old else None
    full_name = name
    parent_id = ref_value(body.get("ParentRef"))
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
    unique_name(company, "Customer", full_name, own_id)
    _common("Customer", body, name)
    check_currency(company, body)
    body["FullyQualifiedName"] = full_name
    defaults = {"Taxable": True, "Job": False, "BillWithParent": False, "PreferredDeliveryMethod": "Print"}
    for key, value in defaults.items():
        body.setdefault(key, value)
    if own_id is None:
        body["Balance"] = body["BalanceWithJobs"] = 0
    else:
        body["Balance"] = float(balances.own_balance(company, own_id))
        body["BalanceWithJobs"] = float(balances.with_jobs(company, own_id))
        # A name with an open balance cannot be made inactive (quickbooks-ruby#390).
        if body["Active"] is False and old.body.get("Active") is not False and body["BalanceWithJobs"]:
            raise faults.list_has_balance("Customer")
    return body


def vendor(store: Store, company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    name = _display_name(body)
    unique_name(company, "Vendor", name, old.body["Id"] if old else None)
    _common("Vendor", body, name)
    check_currency(company, body)
    body.setdefault("Vendor1099", False)
    body["Balance"] = 0
    return body


def employee(store: Store, company: Company, body: dict[str, Any], old: Record | None) -> dict[str, Any]:
    wanted = ("GivenName", "FamilyName")
    if store.config.employee_requires_both_names:
        missing = [part for part in wanted if not body.get(part)]
        if missing:
            raise faults.required(missing[0])
    elif not any(body.get(part) for part in wanted):
        raise faults.required("GivenName")
    name = _display_name(body, ("GivenName", "MiddleName", "FamilyName"))
    unique_name(company, "Employee", name, old.body["Id"] if old else None)
    _common("Employee", body, name)
    body.setdefault("BillableTime", False)
    if body.get("SSN"):
        body["SSN"] = "XXX-XX-XXXX"  # QBO masks it in every answer
    return body


def index(company: Company, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Keep the name, email and sub-customer indexes in step with a change of a name-list entity."""
    space = company.names[NAME_SPACE[entity]]
    if old is not None:
        key = str(old.get("FullyQualifiedName") or old.get("DisplayName") or "").casefold()
        if space.get(key) == (entity, old["Id"]):
            del space[key]
    if new is not None:
        key = str(new.get("FullyQualifiedName") or new.get("DisplayName")).casefold()
        space[key] = (entity, new["Id"])
    if entity != "Customer":
        return
    if old is not None:
        company.display_names.get(str(old.get("DisplayName", "")).casefold(), set()).discard(old["Id"])
        email = email_key(old)
        if email:
            company.emails.get(email, set()).discard(old["Id"])
        parent = ref_value(old.get("ParentRef"))
        if parent:
            company.children.get(parent, set()).discard(old["Id"])
    if new is not None:
        company.display_names.setdefault(str(new["DisplayName"]).casefold(), set()).add(new["Id"])
        email = email_key(new)
        if email:
            company.emails.setdefault(email, set()).add(new["Id"])
        parent = ref_value(new.get("ParentRef"))
        if parent:
            company.children.setdefault(parent, set()).add(new["Id"])
    for moved in {ref_value((b or {}).get("ParentRef")) for b in (old, new)} - {None}:
        balances.refresh(company, moved)


def email_key(body: dict[str, Any]) -> str:
    email = body.get("PrimaryEmailAddr")
    return str(email.get("Address") or "").strip().casefold() if isinstance(email, dict) else ""
