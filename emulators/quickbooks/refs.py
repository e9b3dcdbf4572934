"""Checks every entity shares: references, currencies, dates and names."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.store import HAS_ACTIVE, Company, Record

NAME_MAX = 500
BAD_NAME_CHARS = (":", "\t", "\n", "\r")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    return None


def name_of(record: Record) -> str:
    body = record.body
    return str(body.get("DisplayName") or body.get("Name") or "")


def resolve_ref(
    company: Company, entity: str, ref: Any, field_name: str, required: bool
) -> dict[str, Any] | None:
    """A reference to an existing, active entity, with its ``name`` filled in as QBO answers it."""
    value = ref_value(ref)
    if value is None:
        if required:
            raise faults.required(field_name)
        return None
    target = company.live(entity, value)
    if target is None:
        raise faults.invalid_reference(entity, value)
    if entity in HAS_ACTIVE and target.body.get("Active") is False:
        raise faults.object_not_found(entity, value)
    return {"value": value, "name": name_of(target)}


def check_currency(company: Company, body: dict[str, Any]) -> None:
    code = ref_value(body.get("CurrencyRef"))
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


def optional_date(body: dict[str, Any], field_name: str) -> None:
    """An empty-string date means "not given", as python-quickbooks sends unset dates and QBO takes
    them (its integration tests save such transactions against a sandbox)."""
    if body.get(field_name) in ("", None):
        body.pop(field_name, None)


def check_date(value: Any, field_name: str) -> None:
    try:
        date.fromisoformat(str(value))
    except ValueError as exc:
        raise faults.business(f"{field_name} is not a valid date: {value}", field_name) from exc


def check_name(name: Any, field_name: str) -> str:
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


def unique_name(company: Company, entity: str, full_name: str, own_id: str | None) -> None:
    """Names are unique per name space, inactive holders included (Fault 6240)."""
    holder = company.name_holder(entity, full_name)
    if holder is not None and holder != (entity, own_id):
        raise faults.duplicate_name()


def check_email(body: dict[str, Any]) -> None:
    email = body.get("PrimaryEmailAddr")
    if email is None:
        return
    address = email.get("Address") if isinstance(email, dict) else None
    if address is not None and not EMAIL.match(str(address).strip()):
        raise faults.business(f"Email Address does not conform to the syntax rules: {address}", "PrimaryEmailAddr")
