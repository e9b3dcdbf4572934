"""Review requests, extract: QBO payments changed since the watermark into ``staging.qbo_payment``,
and the company's invoices into ``sync.qbo_invoice_mirror``, from one CDC call.

The first time (and when the watermark is older than CDC reaches) the mirror is filled by a full
listing of the company's invoices (``SELECT * FROM Invoice``, 1,000 a page; invoices it does not
show are marked deleted) and the payments changed since the connection (or the watermark) are read
on their own. From then on one CDC call for ``Invoice,Payment`` since the watermark (less an
overlap) brings both: every payment applied, edited, voided or deleted moves its invoices' balances,
so those invoices come in the same answer. A CDC answer at its 1,000-object cap is read again by
query (flows/qbo_changes.py). The watermark moves once both are committed.

A run over a past data interval (``airflow backfill create``, runtime.past_data_interval) stages
the payments changed in ``[data_interval_start, data_interval_end)``, read by query on
``MetaData.LastUpdatedTime`` (CDC has no upper bound and reaches back 30 days only), and leaves the
watermark where it is: a query shows no deleted payment, so the watermark must not pass over the
range on its word. The invoice mirror is brought up to date as a current run would (CDC of
``Invoice`` since the watermark, or the full listing), since the payments' verdicts are taken
against it and the query answers each payment as it stands now.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from qbo_crm_sync.flows import extraction, qbo_changes
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_changes import is_deleted
from qbo_crm_sync.flows.reviews.shared import OVERLAP, STAGING_TABLE, STREAM, linked_ids, money, ref_value
from qbo_crm_sync.store import watermarks
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)

ALL_INVOICES = "SELECT * FROM Invoice ORDERBY Id"


def staging_row(integration_id: int, payment: dict[str, Any]) -> dict[str, Any] | None:
    """The ``staging.qbo_payment`` row of a QBO Payment (or of CDC's tombstone of a deleted one)."""
    if payment.get("Id") in (None, ""):
        return None
    meta = payment.get("MetaData") or {}
    return {
        "integration_id": integration_id,
        "source_id": str(payment["Id"]),
        "raw": payment,
        "customer_id": ref_value(payment.get("CustomerRef")),
        "total_amt": money(payment.get("TotalAmt")),
        "deleted": is_deleted(payment),
        "created_at_source": extraction.parse_time(meta.get("CreateTime")),
        "updated_at_source": extraction.parse_time(meta.get("LastUpdatedTime")),
    }


def invoices_put(conn: Connection, integration_id: int, invoices: Sequence[dict[str, Any]], seen_at: datetime) -> int:
    """Mirror QBO invoices (or CDC tombstones of deleted ones)."""
    rows = [i for i in invoices if i.get("Id") not in (None, "")]
    if not rows:
        return 0
    conn.execute(query("reviews_invoices_upsert"), {
        "integration_id": integration_id, "seen_at": seen_at,
        "invoice_ids": [str(i["Id"]) for i in rows],
        "customer_ids": [ref_value(i.get("CustomerRef")) for i in rows],
        "doc_numbers": [i.get("DocNumber") for i in rows],
        "txn_dates": [i.get("TxnDate") or None for i in rows],
        "totals": [money(i.get("TotalAmt")) for i in rows],
        "balances": [money(i.get("Balance")) for i in rows],
        "payment_ids": [",".join(linked_ids(i, "Payment")) for i in rows],
        "deleted": [is_deleted(i) for i in rows],
        "updated": [extraction.parse_time((i.get("MetaData") or {}).get("LastUpdatedTime")) for i in rows],
    })
    return len(rows)


def extract(job: Job, now: datetime | None = None) -> dict[str, Any]:
    integration = job.integration
    started = (now or datetime.now(UTC)).replace(microsecond=0)
    interval = job.params.get("data_interval")
    with job.connect() as conn:
        mark = watermarks.get(conn, integration.id, STREAM)
    full = mark is None or started - mark > qbo_changes.CDC_MAX_AGE
    invoices, changed_payments, how = _read(job, mark, started, full, interval)
    with job.connect() as conn:
        mirrored = invoices_put(conn, integration.id, invoices, started)
        if full:
            conn.execute(query("reviews_invoices_forget"), {"integration_id": integration.id, "unseen_since": started})
        conn.commit()
    log.info("Invoice mirror: %d invoice(s) read (%s)", mirrored, how)
    counts = extraction.stage(job, STAGING_TABLE, changed_payments,
                              lambda p: staging_row(integration.id, p), STREAM, started, noun="payments",
                              keep_watermark=interval is not None)
    window = {"window_start": interval[0].isoformat(), "window_end": interval[1].isoformat()} if interval else {}
    return {**counts, "invoices_read": mirrored, "qbo_changes": how, **window}


def _read(job: Job, mark: datetime | None, started: datetime, full: bool,
          interval: tuple[datetime, datetime] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The invoices for the mirror, the payments to stage, and how they were read."""
    invoices: list[dict[str, Any]] = []
    if full:
        log.info("Listing the company's invoices in full (%s)", "first run" if mark is None else "watermark too old")
        invoices = list(job.qbo.query(ALL_INVOICES))
    elif interval is not None:
        assert mark is not None
        invoices = qbo_changes.changed_since(job, ["Invoice"], mark - OVERLAP, now=started).rows["Invoice"]
    if interval is not None:
        log.info("Past data interval [%s, %s): reading the payments changed in it", *interval)
        payments = qbo_changes.changed_between(job, ["Payment"], interval[0], interval[1])
        return invoices, payments.rows["Payment"], (f"payments of the interval by {payments.how}, invoices "
                                                    + ("listed in full" if full else "changed since the watermark"))
    if full:
        since = max(mark or job.integration.connected_at, job.integration.connected_at) - OVERLAP
        payments = qbo_changes.changed_since(job, ["Payment"], since, now=started)
        return invoices, payments.rows["Payment"], f"invoices listed in full, payments by {payments.how}"
    assert mark is not None
    changes = qbo_changes.changed_since(job, ["Invoice", "Payment"], mark - OVERLAP, now=started)
    return changes.rows["Invoice"], changes.rows["Payment"], changes.how
