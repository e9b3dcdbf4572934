"""Invoices, extract: what changed in the CRM's invoices, at a cost bounded by the open ones.

``GET /invoices/`` has no updated-since filter, so every read invoice is staged and compared by
content hash with the version staged before. Each cycle reads:

(a) new invoices: one listing, all statuses, ``startAt`` = the watermark's UTC day less one (no
    ``endAt``, so invoices dated ahead are read too). The listing's ``startAt``/``endAt`` filter on
    the invoice's ``issueDate`` (the emulator does so; the OpenAPI document only says
    "startAt in YYYY-MM-DD format", and issueDate is the day-precision field the listing sorts on);
    a day of overlap covers time zones, as issueDate is the location's calendar day;
(b) the open ones: one listing per open status (sent, payment_processing, partially_paid), however
    old, so a payment or an edit of any open invoice is seen;
(c) transitions: an invoice staged as open that none of those listings showed this cycle is read
    once with ``GET /invoices/{id}``: it was paid, voided, put back to draft or deleted (an id the
    CRM no longer knows is staged as status ``deleted``). When more than six left at once (a bulk
    payment run), the first page of the paid and of the void listing issued since the oldest one's
    issue day is read; if both listings take fewer pages than the invoices to read, they are read
    whole instead, and only what they do not show is read one by one.

Invoices paid or voided stop being read. Two rarer paths are covered by a look-back read at most
once per ``refund_sweep_hours``: one listing each of paid and void invoices issued within
``refund_lookback_days`` (a paid invoice is voided in the CRM only after its payment is refunded,
the same window as refunds of receipts; and an invoice dated back more than a day that went from
draft to paid between two cycles was never listed as open).

CRM reads per cycle: max(1, ceil(issued since the watermark's day - 1 / 100)) + Σ over the three open
statuses max(1, ceil(open in that status / 100)) + T, the invoices that left the open listings
(T ≤ 6: T; more: at most min(T, 2 + Σ over paid and void ceil(issued since the oldest of them / 100))
plus one per invoice those listings do not show); plus, once per sweep period, Σ over paid and void
max(1, ceil(issued in the look-back / 100)).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_crm_sync.flows import extraction
from qbo_crm_sync.flows.invoices.mapping import DELETED, OPEN
from qbo_crm_sync.flows.invoices.shared import STAGING_TABLE, STREAM, SWEEP_STREAM
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_customers import email_key
from qbo_crm_sync.flows.sales_mapping import money
from qbo_crm_sync.store import watermarks
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)

OVERLAP = timedelta(days=1)
SWEPT_STATUSES = ("paid", "void")
PAGE = 100  # invoices per listing page (the hook's page size)
BULK_AFTER = 6  # more invoices than this left the open listings at once: weigh reading listings instead


def staging_row(integration_id: int, invoice: dict[str, Any]) -> dict[str, Any] | None:
    if not invoice.get("_id"):
        return None
    contact = invoice.get("contactDetails") if isinstance(invoice.get("contactDetails"), dict) else {}
    number = invoice.get("invoiceNumber")
    return {
        "integration_id": integration_id,
        "source_id": str(invoice["_id"]),
        "raw": invoice,
        "invoice_number": None if number is None else str(number),
        "status": str(invoice.get("status") or "").strip().lower() or None,
        "currency": str(invoice.get("currency") or "").upper() or None,
        "total": money(invoice.get("total")),
        "amount_paid": money(invoice.get("amountPaid")),
        "email": email_key(contact.get("email")),
        "contact_id": contact.get("id"),
        "issue_date": invoice.get("issueDate"),
        "created_at_source": extraction.parse_time(invoice.get("createdAt")),
        "updated_at_source": extraction.parse_time(invoice.get("updatedAt")),
    }


def _reads(job: Job) -> int:
    stats = getattr(job.crm_hook, "stats", None)
    return int(stats["read"]) if stats is not None else 0


def extract(job: Job, now: datetime | None = None) -> dict[str, Any]:
    integration = job.integration
    started_reads = _reads(job)
    span = extraction.window(job, STREAM, OVERLAP, now)
    start_day = span.since.astimezone(UTC).date() - OVERLAP
    seen: dict[str, dict[str, Any]] = {}
    log.info("Reading CRM invoices issued since %s, and every open one", start_day)
    for invoice in job.crm.invoices(startAt=start_day.isoformat()):
        seen[str(invoice.get("_id"))] = invoice
    new_reads = _reads(job) - started_reads
    listed_open = 0
    for status in OPEN:
        for invoice in job.crm.invoices(status=status):
            seen[str(invoice.get("_id"))] = invoice
            listed_open += 1
    open_reads = _reads(job) - started_reads - new_reads
    moved, left = _transitions(job, seen)
    counts = extraction.stage(
        job, STAGING_TABLE, [*seen.values(), *moved],
        lambda invoice: staging_row(integration.id, invoice), STREAM, span.until, noun="invoices")
    result = {**counts, "window_start": start_day.isoformat(), "open_listed": listed_open,
              "transitions": left, "crm_reads_new": new_reads, "crm_reads_open": open_reads,
              **sweep(job, now)}
    result["crm_reads"] = _reads(job) - started_reads
    log.info("CRM invoice reads this cycle: %(crm_reads)d (new %(crm_reads_new)d, open %(crm_reads_open)d, "
             "%(transitions)d invoice(s) that left the open listings)", result)
    return result


def _transitions(job: Job, seen: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The invoices staged as open that no listing showed: each read once (paid, void, draft), or
    staged as deleted when the CRM no longer has it. When many left at once (a bulk payment run), the
    paid and void listings from the oldest one's issue day are read instead, if that takes fewer reads."""
    with job.connect() as conn:
        held = conn.execute(query("invoices_staged_open"),
                            {"integration_id": job.integration.id, "statuses": list(OPEN)}).fetchall()
    gone = {r["source_id"]: r for r in held if r["source_id"] not in seen}
    left = len(gone)
    out = _left_in_bulk(job, gone) if len(gone) > BULK_AFTER else []
    for found in out:
        gone.pop(str(found.get("_id")), None)
    for sid, row in gone.items():
        found = job.crm.find_invoice(sid)
        if found is None:
            log.warning("CRM invoice %s no longer exists: staged as deleted", sid)
            found = {**row["raw"], "status": DELETED}
        out.append(found)
    return out, left


def _left_in_bulk(job: Job, gone: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Paid and void invoices issued since the oldest of ``gone``, when reading those listings costs
    fewer requests than reading each of ``gone``; the first page of each is read to know (its total)."""
    days = [str((r["raw"] or {}).get("issueDate") or "")[:10] for r in gone.values()]
    if not all(len(d) == 10 for d in days):
        return []
    since = min(days)
    firsts = {status: job.crm.invoice_page(status=status, startAt=since) for status in SWEPT_STATUSES}
    pages = sum(math.ceil(total / PAGE) for _, total in firsts.values())
    listed = [i for items, _ in firsts.values() for i in items]
    if pages - len(firsts) >= len(gone):
        return [i for i in listed if str(i.get("_id")) in gone]
    for status, (items, total) in firsts.items():
        offset = len(items)
        while items and offset < total:
            items, _ = job.crm.invoice_page(offset=offset, status=status, startAt=since)
            listed += items
            offset += len(items)
    log.info("%d open invoices left the open listings: read the paid and void ones issued since %s in %d pages",
             len(gone), since, pages)
    return listed


def sweep(job: Job, now: datetime | None = None) -> dict[str, Any]:
    """Once per ``refund_sweep_hours``: the paid and void invoices issued within ``refund_lookback_days``."""
    settings = job.integration.settings
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    period = timedelta(hours=float(settings["refund_sweep_hours"]))
    with job.connect() as conn:
        last = watermarks.get(conn, job.integration.id, SWEEP_STREAM)
    if last is not None and now - last < period:
        return {"sweep": f"next after {(last + period).isoformat()}"}
    since = now.date() - timedelta(days=int(settings["refund_lookback_days"]))
    before = _reads(job)

    def listed() -> Iterable[dict[str, Any]]:
        for status in SWEPT_STATUSES:
            yield from job.crm.invoices(status=status, startAt=since.isoformat())

    counts = extraction.stage(job, STAGING_TABLE, listed(),
                              lambda invoice: staging_row(job.integration.id, invoice), SWEEP_STREAM, now,
                              noun="paid and void invoices of the look-back")
    return {"sweep": f"paid and void invoices issued since {since.isoformat()}", "sweep_read": counts["extracted"],
            "sweep_changed": counts["staged_new"] + counts["staged_changed"], "crm_reads_sweep": _reads(job) - before}
