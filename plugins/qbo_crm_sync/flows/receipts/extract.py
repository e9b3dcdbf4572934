"""Receipts, extract: the CRM transactions of the current window, and the refund look-back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_crm_sync.flows import extraction
from qbo_crm_sync.flows.company import facts
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_customers import email_key
from qbo_crm_sync.flows.receipts.mapping import money
from qbo_crm_sync.flows.receipts.shared import (
    OVERLAP,
    REFUND_STREAM,
    STAGING_TABLE,
    STREAM,
)
from qbo_crm_sync.flows.sales_mapping import resolve_tax_mode
from qbo_crm_sync.store import staging, watermarks
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)

ORDER_TABLE = "staging.crm_order"


def _staging_row(integration_id: int, txn: dict[str, Any]) -> dict[str, Any]:
    from qbo_crm_sync.flows.receipts.mapping import _status

    return {
        "integration_id": integration_id,
        "source_id": str(txn["_id"]),
        "raw": txn,
        "contact_id": txn.get("contactId"),
        "email": email_key(txn.get("contactEmail")),
        "currency": txn.get("currency"),
        "amount": money(txn.get("amount")),
        "status": _status(txn),
        "source_type": txn.get("entitySourceType"),
        "created_at_source": extraction.parse_time(txn.get("createdAt")),
        "updated_at_source": extraction.parse_time(txn.get("updatedAt")),
    }


def extract(job: Job, now: datetime | None = None) -> dict[str, Any]:
    integration = job.integration
    span = extraction.window(job, STREAM, OVERLAP, now)
    # The transactions endpoint filters by day: whole days around the window, overlap included.
    start_day, end_day = span.since.astimezone(UTC).date(), span.until.astimezone(UTC).date()
    log.info("Extracting CRM transactions of %s … %s", start_day, end_day)
    transactions = job.crm.transactions(start_at=start_day, end_at=end_day)
    counts = extraction.stage(
        job, STAGING_TABLE, transactions,
        lambda txn: _staging_row(integration.id, txn) if txn.get("_id") else None,
        STREAM, span.until, noun="transactions",
    )
    return {**counts, "window_start": start_day.isoformat(), "window_end": end_day.isoformat(),
            **refund_sweep(job, now), **read_orders(job)}


def read_orders(job: Job) -> dict[str, Any]:
    """Where the CRM's tax is booked as tax, the orders behind new order payments (one CRM read
    each: only the order holds the tax); where it is folded into lines the payment is enough."""
    integration = job.integration
    mode, why = resolve_tax_mode(integration.settings.get("tax_mode"), facts(job),
                                 integration.settings.get("tax_code_id"))
    if mode != "total_tax":
        return {}
    with job.connect() as conn:
        ids = [r["order_id"] for r in conn.execute(query("receipts_orders_missing"), {
            "integration_id": integration.id, "connected_at": integration.connected_at}).fetchall()]
    if not ids:
        return {"orders_read": 0}
    log.info("Reading %d CRM order(s) for their tax (%s)", len(ids), why)
    rows = []
    for order_id in ids:
        order = job.crm.get_order(order_id)
        rows.append({"integration_id": integration.id, "source_id": order_id, "raw": order,
                     "amount": money(order.get("amount"))})
    with job.connect() as conn:
        staging.upsert(conn, ORDER_TABLE, rows)
        conn.commit()
    return {"orders_read": len(rows)}


def refund_sweep(job: Job, now: datetime | None = None) -> dict[str, Any]:
    """Re-read the transactions of the refund look-back, at most once per sweep period and only
    from the oldest receipted payment that is not refunded in full."""
    integration = job.integration
    settings = integration.settings
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    lookback = timedelta(days=int(settings["refund_lookback_days"]))
    period = timedelta(hours=float(settings["refund_sweep_hours"]))
    with job.connect() as conn:
        last = watermarks.get(conn, integration.id, REFUND_STREAM)
        if last is not None and now - last < period:
            return {"refund_sweep": f"next after {(last + period).isoformat()}"}
        row = conn.execute(query("receipts_open_since"),
                           {"integration_id": integration.id, "since": now - lookback}).fetchone()
    oldest = row["oldest"] if row else None
    if oldest is None:  # checked again next run: the first receipts may be loaded by then
        return {"refund_sweep": "no receipted payment open to refunds in the look-back"}
    start_day, end_day = oldest.astimezone(UTC).date(), now.date()
    log.info("Refund look-back: re-reading CRM transactions of %s … %s", start_day, end_day)
    counts = extraction.stage(
        job, STAGING_TABLE, job.crm.transactions(start_at=start_day, end_at=end_day),
        lambda txn: _staging_row(integration.id, txn) if txn.get("_id") else None,
        REFUND_STREAM, now, noun="transactions of the refund look-back",
    )
    return {"refund_sweep": f"{start_day.isoformat()} … {end_day.isoformat()}",
            "refund_sweep_read": counts["extracted"], "refund_sweep_changed": counts["staged_changed"]}
