"""CRM invoices → QBO Invoice bodies, and the numbers that name each write: no I/O.

The CRM's arithmetic (the HighLevel emulator's ``totals.py`` follows it): a line is qty × price; a
percentage or fixed discount comes off the lines it is valid on, shared in proportion to their value;
exclusive taxes are charged on what remains of each line; a tax-inclusive line holds its tax already;
``total = subTotal - discount + added tax``. The invoice becomes a :class:`Sale` in the CRM's own
figures (``total``, ``totalSummary.discount``, ``totalSummary.tax``) and goes through the one money
mapping (``sales_mapping.qbo_lines``), so QBO's own TotalAmt equals the CRM ``total`` to the cent.
The arithmetic is redone here only to know how much tax each tax-inclusive line holds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from qbo_crm_sync.flows.codes import digest_code
from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.extraction import local_day, parse_time
from qbo_crm_sync.flows.sales_mapping import (
    CENT,
    MappingError,
    Sale,
    SaleLine,
    cents,
    money,
    qbo_lines,
)
from qbo_crm_sync.store.staging import dumps

OPEN = ("sent", "payment_processing", "partially_paid")
BILLED = (*OPEN, "paid")  # the statuses an invoice is written to QBO in
DELETED = "deleted"  # not the CRM's: a held invoice the CRM no longer has
DOC_NUMBER_MAX = 21
NOTE_MAX = 4000
NOTE_PREFIX = "HighLevel invoice "
ZERO = Decimal(0)

_NOTE_ID = re.compile(re.escape(NOTE_PREFIX) + r"(\S+)")


# ------------------------------------------------------------------------------ classification


def status_of(raw: Mapping[str, Any]) -> str:
    return str(raw.get("status") or "").strip().lower()


def skip_reason(raw: Mapping[str, Any], held: bool, connected_at: Any, include_test_mode: bool) -> str | None:
    """Why an invoice not yet in QBO is not written there (None: it is to be written). ``held``: a
    QBO invoice exists for it, so its later states follow whatever they are."""
    status = status_of(raw)
    if held:
        if status == "draft":
            return "back to draft in the CRM: the QuickBooks invoice is left as it is until it is sent again"
        if status in BILLED or status in ("void", DELETED):
            return None
        return f"status {status or '(none)'!r} in the CRM is not one this flow follows"
    if status == "draft":
        return "draft in the CRM: not synced until it is sent"
    if status == "void":
        return "voided in the CRM before it was synced: nothing in QuickBooks to void"
    if status == DELETED:
        return "deleted in the CRM before it was synced: nothing in QuickBooks"
    if status not in BILLED:
        return f"status {status or '(none)'!r} in the CRM is not one this flow follows"
    created = parse_time(raw.get("createdAt"))
    if created is not None and connected_at is not None and created < connected_at:
        return "created in the CRM before the integration was connected"
    if raw.get("liveMode") is False and not include_test_mode:
        return "test-mode invoice (the integration's include_test_mode setting is off)"
    return None


# ---------------------------------------------------------------------------------- numbers


def doc_number(raw: Mapping[str, Any]) -> tuple[str, str | None]:
    """The CRM invoice number as a DocNumber, and a note when it had to be shortened: QBO keeps at
    most 21 characters, so a longer number keeps its first 14 and gains 6 characters of its digest."""
    number = str(raw.get("invoiceNumber") or "").strip() or str(raw.get("_id") or "")
    if len(number) <= DOC_NUMBER_MAX:
        return number, None
    short = f"{number[:14]}~{digest_code('', number, 6)}"
    return short, f"the CRM number {number} is longer than QuickBooks' 21 characters: DocNumber {short}"


def alternative_doc_number(base: str, source_id: str, attempt: int = 1) -> str:
    """The DocNumber to use when ``base`` belongs to another QBO invoice: ``base-XXXX`` (4 characters
    of the CRM invoice id's digest), then ``base-XXXX2``, ``3``…, within 21 characters."""
    suffix = "-" + digest_code("", source_id, 4) + (str(attempt) if attempt > 1 else "")
    return base[: DOC_NUMBER_MAX - len(suffix)] + suffix


def next_doc_number(taken: str, base: str, source_id: str) -> str:
    """The next DocNumber after ``taken`` was refused as another invoice's: deterministic, so every
    retry of the same invoice walks the same sequence."""
    for attempt in range(1, 100):
        candidate = alternative_doc_number(base, source_id, attempt)
        if candidate == taken:
            return alternative_doc_number(base, source_id, attempt + 1)
    return alternative_doc_number(base, source_id, 1)


def payment_ref(source_id: str, paid_total: Decimal) -> str:
    """PaymentRefNum of the payment step bringing the invoice's paid amount to ``paid_total``:
    "P" + 19 base-36 digits of SHA-256 over (invoice, cumulative amount)."""
    return digest_code("P", f"{source_id}|{paid_total.quantize(CENT)}")


def private_note(raw: Mapping[str, Any], source_id: str) -> str:
    return (f"{NOTE_PREFIX}{source_id} (number {raw.get('invoiceNumber') or '?'}; "
            f"contact {(raw.get('contactDetails') or {}).get('id') or '?'})")[:NOTE_MAX]


def source_of_note(note: Any) -> str | None:
    """The CRM invoice id a PrivateNote written by this flow names (after QBO's "Voided - " too)."""
    found = _NOTE_ID.search(str(note or ""))
    return found.group(1) if found else None


# ------------------------------------------------------------------------------------- money


def _rate(item: Mapping[str, Any]) -> Decimal:
    return sum((money(t.get("rate")) or ZERO for t in item.get("taxes") or [] if isinstance(t, dict)), ZERO)


def crm_figures(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The CRM's arithmetic over the items: per-line value and included tax, and the summary
    figures (discount, added tax, tax, total), unrounded where the CRM keeps them unrounded."""
    items = [i for i in raw.get("invoiceItems") or [] if isinstance(i, dict)]
    values = [(money(i.get("qty")) or ZERO) * (money(i.get("amount")) or ZERO) for i in items]
    discount = raw.get("discount") if isinstance(raw.get("discount"), dict) else {}
    valid_on = set(discount.get("validOnProductIds") or [])
    eligible = [not valid_on or i.get("productId") in valid_on for i in items]
    eligible_total = sum((v for v, ok in zip(values, eligible, strict=True) if ok), ZERO)
    amount = money(discount.get("value")) or ZERO
    off = eligible_total * amount / 100 if discount.get("type", "percentage") == "percentage" \
        else min(amount, eligible_total)
    off = cents(max(off, ZERO))
    added = ZERO
    included: list[Decimal] = []
    for item, value, ok in zip(items, values, eligible, strict=True):
        base = value - (off * value / eligible_total if ok and eligible_total else ZERO)
        rate = _rate(item)
        inside = ZERO
        if rate and item.get("taxInclusive"):
            inside = base - base / (1 + rate / 100)
        elif rate:
            added += base * rate / 100
        included.append(inside)
    subtotal = cents(sum(values, ZERO))
    return {"values": values, "included": included, "subtotal": subtotal, "discount": off,
            "tax": cents(added + sum(included, ZERO)), "total": subtotal - off + cents(added)}


def to_sale(raw: Mapping[str, Any], item_ids: Mapping[str, str] | None = None,
            default_item_id: str | None = None) -> Sale:
    """The invoice as a sale in the CRM's own figures. Lines carry the item each maps to
    (``item_ids`` by CRM productId, else ``default_item_id``) and the tax inside a tax-inclusive price.
    Raises MappingError when an item cannot be read."""
    items = raw.get("invoiceItems")
    if not isinstance(items, list) or not items:
        raise MappingError("the invoice has no items")
    figures = crm_figures(raw)
    lines = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise MappingError(f"item {n} is not an object")
        qty, price = money(item.get("qty")), money(item.get("amount"))
        if qty is None or price is None or qty <= 0 or price < 0:
            raise MappingError(f"item {n} ({item.get('name') or 'unnamed'}) has a quantity or price QuickBooks "
                               "cannot take (missing, negative, or a zero quantity)")
        name = str(item.get("name") or f"Item {n}")
        description = str(item.get("description") or "").strip()
        lines.append(SaleLine(
            name=name, qty=qty, unit_price=price,
            item_id=(item_ids or {}).get(str(item.get("productId") or "")) or default_item_id,
            description=f"{name}: {description}" if description else name,
            taxed=bool(_rate(item)), included_tax=figures["included"][n - 1]))
    summary = raw.get("totalSummary") if isinstance(raw.get("totalSummary"), dict) else {}
    total = money(raw.get("total"))
    discount = money(summary.get("discount"))
    tax = money(summary.get("tax"))
    total = cents(total if total is not None else figures["total"])
    discount = cents(discount if discount is not None else figures["discount"])
    tax = cents(tax if tax is not None else figures["tax"])
    if tax > 0 and not any(line.taxed for line in lines):  # tax the CRM computed itself (automatic taxes)
        lines = [SaleLine(ln.name, ln.qty, ln.unit_price, ln.item_id, ln.description, True, ln.included_tax)
                 for ln in lines]
    return Sale(tuple(lines), total=total, discount=discount, tax=tax)


def paid_of(raw: Mapping[str, Any], total: Decimal) -> Decimal:
    """What the CRM says is paid, never more than the total; all of it for a paid invoice that says nothing."""
    paid = money(raw.get("amountPaid"))
    if paid is None:
        paid = total if status_of(raw) == "paid" else ZERO
    return max(ZERO, min(cents(paid), total))


def invoice_body(raw: Mapping[str, Any], source_id: str, mode: str, company: CompanyFacts,
                 item_mapping: Mapping[str, str] | None = None, tax_code_id: str | None = None) -> dict[str, Any]:
    """The QBO Invoice for a CRM invoice, without CustomerRef (resolved at load) and with the CRM
    number as DocNumber. Raises MappingError when it cannot total to the CRM's figure."""
    mapping = dict(item_mapping or {})
    default_item = mapping.get("invoice") or mapping.get("default") or company.default_item_id
    sale = to_sale(raw, mapping, default_item)
    body: dict[str, Any] = {
        "DocNumber": doc_number(raw)[0],
        "TxnDate": local_day(raw.get("issueDate"), company.zone) or local_day(raw.get("createdAt"), company.zone),
        "DueDate": local_day(raw.get("dueDate"), company.zone),
        "PrivateNote": private_note(raw, source_id),
        "CurrencyRef": {"value": str(raw.get("currency") or "").upper()},
        **qbo_lines(sale, mode, company, default_item_id=default_item, tax_code_id=tax_code_id,
                    discount_line=True),
    }
    if body["DueDate"] is None:
        del body["DueDate"]
    email = (raw.get("contactDetails") or {}).get("email")
    if isinstance(email, str) and email.strip():
        body["BillEmail"] = {"Address": email.strip()}
    return body


# ------------------------------------------------------------------------ what was written


def _amount(value: Any) -> str:
    amount = money(value)
    return f"{cents(amount):.2f}" if amount is not None else "?"


def fingerprint(body: Mapping[str, Any]) -> str:
    """A hash of what an invoice update sets (dates, item and discount lines, tax), equal for the
    body sent and for QBO's copy of it once it landed: the hash of what was last written."""
    lines = [(ln.get("DetailType"), _amount(ln.get("Amount")), str(ln.get("Description") or ""))
             for ln in body.get("Line") or []
             if ln.get("DetailType") in ("SalesItemLineDetail", "DiscountLineDetail")]
    tax = _amount((body.get("TxnTaxDetail") or {}).get("TotalTax") or 0)
    shape = {"TxnDate": body.get("TxnDate"), "DueDate": body.get("DueDate"), "Line": lines, "TotalTax": tax}
    return hashlib.sha256(dumps(shape).encode("utf-8")).hexdigest()


def update_body(invoice: Mapping[str, Any], qbo_id: str, sync_token: str) -> dict[str, Any]:
    """A sparse update bringing QBO invoice ``qbo_id`` to ``invoice``'s lines, tax and dates."""
    body = {"Id": qbo_id, "SyncToken": str(sync_token), "sparse": True,
            **{k: invoice[k] for k in ("Line", "TxnTaxDetail", "TxnDate", "DueDate") if k in invoice}}
    return body


def payment_body(source_id: str, state: Mapping[str, Any], paid_total: Decimal, amount: Decimal,
                 ref: str, day: str | None, deposit_account_id: str | None) -> dict[str, Any]:
    """A QBO Payment of ``amount`` linked to the invoice of ``state`` (a sync.invoice row)."""
    body: dict[str, Any] = {
        "CustomerRef": {"value": str(state["customer_id"])},
        "TotalAmt": amount,
        "PaymentRefNum": ref,
        "CurrencyRef": {"value": state["currency"]},
        "PrivateNote": (f"{NOTE_PREFIX}{source_id} (DocNumber {state['doc_number']}): payment of {amount:.2f}, "
                        f"paid {paid_total:.2f} of {Decimal(state['crm_total']):.2f} in all")[:NOTE_MAX],
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": str(state["invoice_id"]), "TxnType": "Invoice"}]}],
    }
    if day:
        body["TxnDate"] = day
    if deposit_account_id:
        body["DepositToAccountRef"] = {"value": str(deposit_account_id)}
    return body


def voided(held: Mapping[str, Any]) -> bool:
    """Whether QBO's copy of an invoice or payment shows it voided (amounts zeroed, "Voided" noted)."""
    return money(held.get("TotalAmt")) == 0 and str(held.get("PrivateNote") or "").startswith("Voided")
