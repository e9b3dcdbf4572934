"""DocNumbers of sales forms (Invoice, SalesReceipt, RefundReceipt), after the company's
SalesFormsPrefs.CustomTxnNumbers (see ``company_settings`` for the judgement behind its default).

- Custom numbers on: the client's DocNumber is kept; none given stays none. A DocNumber another live
  transaction of the same type already holds is refused with Fault 6140 (Intuit's Invoice reference, as
  quoted in python-quickbooks PR #283 and QuickBooks-V3-DotNET-SDK#175) unless the request carries
  ``include=allowduplicatedocnum`` (a batch item: ``optionsData``). An update that keeps the
  transaction's own number is not checked again.
- Custom numbers off: QBO numbers the transaction itself when none is given; a given one is stored as it
  is, duplicates included.

Callers hold ``store.lock``.
"""

from __future__ import annotations

from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.store import Company

SALES_FORMS = frozenset({"Invoice", "SalesReceipt", "RefundReceipt"})
DOC_NUMBER_MAX = 21


def assign(
    company: Company,
    entity: str,
    body: dict[str, Any],
    old: dict[str, Any] | None,
    allow_duplicate: bool,
    seeding: bool,
) -> None:
    custom = bool(company.sales_pref("CustomTxnNumbers"))
    doc = body.get("DocNumber")
    if doc in (None, ""):  # an empty string is "not given", as client libraries send it
        body.pop("DocNumber", None)
        if not custom:
            kept = (old or {}).get("DocNumber")
            body["DocNumber"] = kept or _next_number(company)
        return
    doc = str(doc).strip()
    if len(doc) > DOC_NUMBER_MAX:
        raise faults.validation(
            "String length is either shorter or longer than supported by specification",
            f"DocNumber is longer than the maximum of {DOC_NUMBER_MAX} characters: {len(doc)}",
            "2050",
            "DocNumber",
        )
    body["DocNumber"] = doc
    unchanged = old is not None and old.get("DocNumber") == doc  # a number it holds already stays
    if custom and not allow_duplicate and not seeding and not unchanged:
        own_id = (old or {}).get("Id")
        holders = company.doc_numbers.get(entity, {}).get(doc, set()) - {own_id}
        if holders:
            raise faults.duplicate_doc_number(doc, entity, min(holders, key=lambda i: (len(i), i)))


def _next_number(company: Company) -> str:
    number = company.next_doc_number
    company.next_doc_number += 1
    return str(number)


def index(company: Company, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    numbers = company.doc_numbers.setdefault(entity, {})
    if old is not None and old.get("DocNumber"):
        numbers.get(str(old["DocNumber"]), set()).discard(str(old["Id"]))
    if new is not None and new.get("DocNumber"):
        numbers.setdefault(str(new["DocNumber"]), set()).add(str(new["Id"]))
