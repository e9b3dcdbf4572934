"""Names and small readers the review request flow's stages share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from qbo_crm_sync.flows.extraction import parse_time
from qbo_crm_sync.flows.qbo_changes import is_deleted
from qbo_crm_sync.flows.reviews.decide import Claim, Invoice, Payment
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

FLOW = "reviews"
# One watermark for the CDC call that reads invoices and payments together.
STREAM = "qbo_invoice_payment"
STAGING_TABLE = "staging.qbo_payment"
# Re-read this much before the watermark: QBO's change index trails its writes.
OVERLAP = timedelta(minutes=5)
# The tag every contact asked for a review gets (added to its tags, never replacing them).
TAG = "review-requested"


def money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def ref_value(ref: Any) -> str | None:
    value = ref.get("value") if isinstance(ref, dict) else None
    return str(value) if value not in (None, "") else None


def linked_ids(obj: Mapping[str, Any], txn_type: str) -> tuple[str, ...]:
    """Ids of the transactions of ``txn_type`` linked by a payment's lines (or an invoice's LinkedTxn)."""
    links = [link for line in obj.get("Line") or [] if isinstance(line, dict) for link in line.get("LinkedTxn") or []]
    links += list(obj.get("LinkedTxn") or [])
    ids: list[str] = []
    for link in links:
        if isinstance(link, dict) and link.get("TxnType") == txn_type and link.get("TxnId") not in (None, ""):
            if str(link["TxnId"]) not in ids:
                ids.append(str(link["TxnId"]))
    return tuple(ids)


def payment_of(raw: Mapping[str, Any], deleted: bool | None = None) -> Payment:
    """A QBO Payment (or its CDC tombstone) as the decision reads it."""
    gone = is_deleted(raw) if deleted is None else deleted
    note = str(raw.get("PrivateNote") or "")
    total = money(raw.get("TotalAmt"))
    applied = linked_ids(raw, "Invoice")
    # QBO voids a payment by zeroing it: TotalAmt 0, no lines, PrivateNote "Voided".
    voided = not gone and total == 0 and not applied and note.lower().startswith("voided")
    return Payment(
        id=str(raw.get("Id")),
        customer_id=ref_value(raw.get("CustomerRef")),
        total=total or Decimal(0),
        invoice_ids=applied,
        deleted=gone,
        voided=voided,
        created_at=parse_time((raw.get("MetaData") or {}).get("CreateTime")),
    )


def invoice_of(row: Mapping[str, Any]) -> Invoice:
    return Invoice(id=row["invoice_id"], customer_id=row["customer_id"], doc_number=row["doc_number"],
                   txn_date=row["txn_date"], total=Decimal(row["total_amt"] or 0),
                   balance=Decimal(row["balance"] or 0), payment_ids=tuple(row["payment_ids"] or ()),
                   deleted=bool(row["deleted"]))


def claim_of(row: Mapping[str, Any]) -> Claim:
    return Claim(customer_id=row["customer_id"], payment_id=row["payment_id"], state=row["state"],
                 message_id=row.get("message_id"), channel=row.get("channel"), address=row.get("address"),
                 settled_at=row.get("settled_at"))


def invoices_of(conn: Connection, integration_id: int, customer_ids: Sequence[str]) -> dict[str, list[Invoice]]:
    """The mirrored invoices of each customer."""
    out: dict[str, list[Invoice]] = {c: [] for c in customer_ids}
    if customer_ids:
        for row in conn.execute(query("reviews_invoices_of_customers"),
                                {"integration_id": integration_id, "customer_ids": list(customer_ids)}).fetchall():
            out.setdefault(row["customer_id"], []).append(invoice_of(row))
    return out


def payments_staged(conn: Connection, integration_id: int, customer_ids: Sequence[str],
                    payment_ids: Sequence[str] = ()) -> dict[str, Payment]:
    """Staged payments of these customers (and with these ids), by id."""
    rows = conn.execute(query("reviews_payments_staged"), {
        "integration_id": integration_id, "customer_ids": list(customer_ids), "payment_ids": list(payment_ids),
    }).fetchall()
    return {r["source_id"]: payment_of(r["raw"], r["deleted"]) for r in rows}


def claims_of(conn: Connection, integration_id: int, customer_ids: Sequence[str],
              payment_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    return list(conn.execute(query("reviews_claims_get"), {
        "integration_id": integration_id, "customer_ids": list(customer_ids), "payment_ids": list(payment_ids),
    }).fetchall())
