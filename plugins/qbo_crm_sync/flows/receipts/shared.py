"""Names and lookups the receipts flow's stages share."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

FLOW = "receipts"
STREAM = "crm_transaction"
REFUND_STREAM = "crm_transaction_refunds"
STAGING_TABLE = "staging.crm_transaction"
PURPOSE = "receipts"
# The API filters by day (UTC): re-read from a little before the watermark's day.
OVERLAP = timedelta(hours=1)
BATCH_ITEMS = 30
SEND_WORKERS = 4


def receipts_of(conn: Connection, integration_id: int, source_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not source_ids:
        return {}
    rows = conn.execute(query("receipts_get"), {"integration_id": integration_id, "source_ids": source_ids})
    return {r["source_id"]: r for r in rows.fetchall()}


def receipt_note(receipt: dict[str, Any]) -> str:
    note = f"sales receipt {receipt['receipt_id']} already created"
    if receipt["refunded_total"]:
        note += (f"; refunded {Decimal(receipt['refunded_total']):.2f} in QBO (RefundReceipt "
                 f"{receipt['refund_receipt_id']})")
    return note + "; later changes in the CRM other than refunds are not applied to it"
