"""CRM payment transactions → QBO SalesReceipt bodies: classification and mapping, no I/O.

Classification decides whether a HighLevel transaction becomes a receipt at all:

- order forms (``entitySourceType`` funnel or website), subscriptions (a ``subscriptionId``, or
  the subscription source type), memberships and calendar bookings are eligible;
- payments of CRM invoices are not: the invoice flow records them as QBO payments against the
  invoice, and a receipt as well would count the revenue twice;
- failed, pending or refunded payments, test-mode payments (unless the integration opts in),
  zero amounts and any other source type are skipped with the reason.

A refund seen after the receipt exists becomes a RefundReceipt for the difference between what the
CRM has refunded and what QBO already holds as refunds (:func:`refunded_amount`, :func:`refund_body`).

Money is Decimal throughout; a receipt's total equals the CRM amount to the cent.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from qbo_crm_sync.flows.codes import base36, digest_code
from qbo_crm_sync.flows.company import CompanyFacts
from qbo_crm_sync.flows.extraction import local_day
from qbo_crm_sync.flows.qbo_customers import display_name_for, email_key
from qbo_crm_sync.flows.sales_mapping import (  # noqa: F401 - money and with_decimals are this flow's too
    MappingError,
    Sale,
    SaleLine,
    cents,
    money,
    qbo_lines,
    resolve_tax_mode,
    with_decimals,
)

QBO_TIME_ZONE = ZoneInfo("America/Los_Angeles")
CENT = Decimal("0.01")
DOC_NUMBER_MAX = 21
NOTE_MAX = 4000
DESCRIPTION_MAX = 4000

ORDER_FORM_SOURCES = frozenset({"funnel", "website"})
KIND_BY_SOURCE = {"membership": "membership", "calendar": "calendar", "subscription": "subscription"}
ELIGIBLE_KINDS = ("order_form", "subscription", "membership", "calendar")
SUCCEEDED = frozenset({"succeeded", "success", "paid", "completed"})
INVOICE_PAYMENT = ("CRM invoice payment: recorded by the invoice flow (crm_invoices_to_qbo) as a QBO payment "
                   "against the invoice, not as a receipt")
KIND_LABELS = {"order_form": "order form", "subscription": "subscription", "membership": "membership",
               "calendar": "calendar booking"}

_HEX_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def doc_number(transaction_id: str) -> str:
    """A DocNumber (≤ 21 characters) that names the CRM transaction, so a receipt can be found by it.

    HighLevel ids are 24 hex digits (96 bits): written in base 36 they fit 19 characters, so the
    number is the id itself, reversible and collision-free ("H" + 19). Any other id is hashed
    ("X" + 19 base-36 digits of SHA-256, 98 bits).
    """
    text = str(transaction_id)
    if _HEX_ID.match(text):
        return "H" + base36(int(text, 16), 19)
    return digest_code("X", text)


def refund_doc_number(transaction_id: str, refunded_total: Decimal) -> str:
    """The DocNumber of the refund step that brings a payment's QBO refunds to ``refunded_total``:
    "R" + 19 base-36 digits of SHA-256 over (transaction, cumulative amount), so one step has one number."""
    return digest_code("R", f"{transaction_id}|{refunded_total.quantize(CENT)}")


def refunded_amount(raw: dict[str, Any], paid: Decimal) -> Decimal:
    """How much of a payment the CRM has refunded: ``amountRefunded``, else all of it when the
    status says refunded (not partially); never more than was paid."""
    refunded = money(raw.get("amountRefunded")) or Decimal(0)
    status = _status(raw)
    if refunded <= 0 and "refund" in status and "partial" not in status:
        refunded = paid
    return max(Decimal(0), min(refunded, paid))


def refund_body(source_id: str, receipt: dict[str, Any], refunded_total: Decimal, amount: Decimal,
                txn_day: str | None) -> dict[str, Any]:
    """A RefundReceipt for ``amount`` against the sales receipt ``receipt`` (a sync.receipt row):
    its customer, item and account, named in the PrivateNote."""
    detail: dict[str, Any] = {"Qty": Decimal(1), "UnitPrice": amount}
    if receipt.get("item_id"):
        detail["ItemRef"] = {"value": str(receipt["item_id"])}
    body: dict[str, Any] = {
        "DocNumber": refund_doc_number(source_id, refunded_total),
        "PrivateNote": (f"HighLevel transaction {source_id}: refund of {amount:.2f} (refunded "
                        f"{refunded_total:.2f} in all) against SalesReceipt {receipt['receipt_id']} "
                        f"({receipt['doc_number']})")[:NOTE_MAX],
        "CustomerRef": {"value": str(receipt["customer_id"])},
        "CurrencyRef": {"value": receipt["currency"]},
        "DepositToAccountRef": {"value": str(receipt["deposit_account_id"])},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": amount,
                  "Description": f"Refund of HighLevel transaction {source_id}"[:DESCRIPTION_MAX],
                  "SalesItemLineDetail": detail}],
        "TxnTaxDetail": {"TotalTax": Decimal("0")},
    }
    if txn_day:
        body["TxnDate"] = txn_day
    return body


def _status(raw: dict[str, Any]) -> str:
    status = raw.get("status")
    if isinstance(status, dict):  # the spec types it as an object
        status = status.get("status") or status.get("value")
    return str(status or "").strip().lower()


def classify(raw: dict[str, Any], include_test_mode: bool = False) -> tuple[str | None, str | None]:
    """``(kind, None)`` for an eligible payment, ``(None, reason)`` for one to skip."""
    source = str(raw.get("entitySourceType") or "").strip()
    if source == "invoice" or raw.get("entityType") == "invoice":
        return None, INVOICE_PAYMENT
    status = _status(raw)
    if status not in SUCCEEDED:
        if "refund" in status:
            return None, f"refunded in the CRM (status {status}) before it was synced: no receipt"
        return None, f"payment {status or 'without a status'} in the CRM: no money received"
    refunded = money(raw.get("amountRefunded")) or Decimal(0)
    if refunded > 0:
        return None, (f"refunded in the CRM ({refunded:.2f} of it) before it was synced: no receipt; "
                      "record it in QuickBooks by hand if it is still wanted")
    if raw.get("liveMode") is False and not include_test_mode:
        return None, "test-mode payment (the integration's include_test_mode setting is off)"
    if raw.get("subscriptionId"):
        kind = "subscription"
    elif source in ORDER_FORM_SOURCES:
        kind = "order_form"
    else:
        kind = KIND_BY_SOURCE.get(source)
    if kind is None:
        return None, f"source type {source or '(none)'!r} is not one that becomes a sales receipt"
    amount = money(raw.get("amount"))
    if amount is not None and amount == 0:
        return None, "zero amount: nothing to record"
    return kind, None


def txn_date(raw: dict[str, Any], zone: ZoneInfo = QBO_TIME_ZONE,
             keys: tuple[str, ...] = ("fulfilledAt", "createdAt")) -> str | None:
    """The payment's day in the company's time zone (when it was charged, else created)."""
    for key in keys:
        day = local_day(raw.get(key), zone)
        if day is not None:
            return day
    return None


def _sale_lines(entries: Any, item_id: str | None, label: str, taxed: bool) -> list[SaleLine] | None:
    """Order items as sale lines (quantity, unit price), or None when they cannot be read."""
    if not isinstance(entries, list) or not entries:
        return None
    lines = []
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        qty = money(entry.get("qty", entry.get("quantity", 1))) or Decimal(1)
        price = entry.get("price", entry.get("amount"))
        price = money(price.get("amount") if isinstance(price, dict) else price)
        if price is None or qty <= 0 or price < 0:
            return None
        name = entry.get("name") or (entry.get("product") or {}).get("name") or label
        lines.append(SaleLine(str(name), qty, price, item_id, taxed=taxed))
    return lines


def sale_of(raw: dict[str, Any], amount: Decimal, item_id: str | None, label: str,
            order: dict[str, Any] | None = None) -> Sale:
    """The payment as a sale. From its order (items, discount, tax, shipping) when the order is
    known and the payment is the whole of it; else from the items the transaction carries when they
    add up to it; else one line of the amount (no tax known: it is part of the line)."""
    if order and money(order.get("amount")) == amount:
        summary = order.get("amountSummary") or {}
        tax = money(summary.get("tax")) or Decimal(0)
        shipping = money(summary.get("shipping")) or Decimal(0)
        lines = _sale_lines(order.get("items"), item_id, label, taxed=tax > 0)
        if lines is None:
            subtotal = money(summary.get("subtotal")) or amount
            lines = [SaleLine(label, Decimal(1), subtotal, item_id, taxed=tax > 0)]
        if shipping:
            lines.append(SaleLine("Shipping", Decimal(1), shipping, item_id))
        return Sale(tuple(lines), total=amount, discount=money(summary.get("discount")) or Decimal(0), tax=tax)
    lines = _sale_lines(raw.get("items") or raw.get("lineItems"), item_id, label, taxed=False)
    if lines and sum((cents(ln.qty * ln.unit_price) for ln in lines), Decimal(0)) == amount:
        return Sale(tuple(lines), total=amount)
    return Sale((SaleLine(label, Decimal(1), amount, item_id),), total=amount)


def to_receipts(frame: pd.DataFrame, settings: dict[str, Any], company: CompanyFacts,
                orders: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """One row per transaction of ``frame`` (``source_id``, ``raw``) with its classification and,
    for eligible ones, the receipt body (without CustomerRef: the customer is resolved at load).
    ``orders`` holds the CRM orders read for the payments (by order id), where tax is booked apart.

    Columns: source_id, kind, skip_reason, email, email_valid, display_name, currency, amount,
    amount_positive, amount_in_cents, txn_date, doc_number, mapping_error, payload.
    """
    from qbo_crm_sync.flows.contacts_transform import email_is_valid

    include_test = bool(settings.get("include_test_mode"))
    mapping = settings.get("item_mapping") or {}
    deposit = settings.get("deposit_account_id")
    mode, _ = resolve_tax_mode(settings.get("tax_mode"), company, settings.get("tax_code_id"))
    orders = orders or {}

    rows: list[dict[str, Any]] = []
    for source_id, raw in zip(frame["source_id"], frame["raw"], strict=True):
        kind, skip = classify(raw, include_test)
        amount = money(raw.get("amount"))
        email = email_key(raw.get("contactEmail"))
        row: dict[str, Any] = {
            "source_id": source_id, "kind": kind, "skip_reason": skip, "email": email,
            "email_valid": email_is_valid(email),
            "display_name": display_name_for(raw.get("contactName"), email),
            "currency": str(raw.get("currency") or "").upper() or None,
            "amount": amount,
            "amount_positive": amount is not None and amount > 0,
            "amount_in_cents": amount is not None and amount == amount.quantize(CENT),
            "txn_date": txn_date(raw, company.zone), "doc_number": doc_number(source_id),
            "mapping_error": None, "payload": None,
        }
        if kind is not None and row["amount_positive"] and row["amount_in_cents"]:
            source = str(raw.get("entitySourceType") or "")
            item_id = mapping.get(source) or mapping.get(kind) or mapping.get("default") or company.default_item_id
            label = " · ".join(str(p) for p in (KIND_LABELS[kind], raw.get("entitySourceName")) if p)
            body: dict[str, Any] = {
                "DocNumber": row["doc_number"],
                "TxnDate": row["txn_date"],
                "PrivateNote": (f"HighLevel transaction {source_id} ({KIND_LABELS[kind]}"
                                f"{', ' + str(raw.get('entitySourceName')) if raw.get('entitySourceName') else ''}"
                                f"; contact {raw.get('contactId') or '?'})")[:NOTE_MAX],
                "CurrencyRef": {"value": row["currency"]},
            }
            order = orders.get(str(raw.get("entityId"))) if raw.get("entityType") == "order" else None
            try:
                body.update(qbo_lines(sale_of(raw, amount, item_id, label or "Payment", order), mode,  # type: ignore[arg-type]
                                      company, default_item_id=item_id, tax_code_id=settings.get("tax_code_id")))
            except MappingError as exc:
                row["mapping_error"] = str(exc)
            if email:
                body["BillEmail"] = {"Address": email}
            if deposit:
                body["DepositToAccountRef"] = {"value": str(deposit)}
            row["payload"] = body
        rows.append(row)
    return pd.DataFrame(rows, columns=["source_id", "kind", "skip_reason", "email", "email_valid", "display_name",
                                       "currency", "amount", "amount_positive", "amount_in_cents", "txn_date",
                                       "doc_number", "mapping_error", "payload"])
