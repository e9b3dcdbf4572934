"""CRM payments → QBO sales receipts: extract → transform + validate → load → report.

- extract: ``GET /payments/transactions`` for the days from the watermark (less an overlap) to
  now, offset-paged, upserted into ``staging.crm_transaction``; the watermark moves after the
  rows are committed. The listing filters by creation day, so a payment refunded days after it
  was taken would never be read again: once per ``refund_sweep_hours`` (default 6) the days of the
  refund look-back (``refund_lookback_days``, default 120, the usual card-dispute window) that hold
  receipted, not fully refunded payments are read again in one paged listing, and what changed is
  staged like any new row. Cost: ceil(transactions in those days / 100) CRM reads per sweep.
- transform: staged rows not yet handled (or changed, or failed) are classified
  (receipts_mapping), mapped to receipt bodies, checked (Great Expectations suite ``receipts``)
  and queued in ``sync.outbox``; every eligible payment gets a ``sync.receipt`` row, the CRM
  side of the reconciliation.
- load: under a per-integration lock, any batch whose answer was lost is re-sent as it was; then
  the queued payments' customers are resolved (flows/qbo_customers.py) and receipts are created
  through ``/batch`` (30 per request, a write-ahead log per batch, a deterministic bId per
  payment and try), each answer applied in one transaction: row status, entity map, receipt row
  (with QBO's TotalAmt) and outbox together.
- refunds: a receipted payment the CRM later refunds (fully or in part) is queued again as a refund
  step named by its cumulative refunded amount; load sends one RefundReceipt for the difference to
  what QBO already holds (same customer, item and deposit account as the receipt), through the
  same batch log, and records it in ``sync.refund``. A payment refunded before it had a receipt
  stays skipped: there is nothing to refund in QBO.
- report: the run's summary plus, per day and currency, the CRM total of eligible payments next
  to the QBO total of the receipts created for them, refunds netted on both sides; a difference is
  flagged.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from qbo_crm_sync.errors import AuthError
from qbo_crm_sync.flows import extraction, qbo_batch_log, qbo_customers
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_customers import email_key
from qbo_crm_sync.flows.receipts_mapping import money, with_decimals
from qbo_crm_sync.store import outbox, staging, tracking, watermarks
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)

FLOW = "receipts"
STREAM = "crm_transaction"
REFUND_STREAM = "crm_transaction_refunds"
COMPANY_STREAM = "qbo_company"
STAGING_TABLE = "staging.crm_transaction"
PURPOSE = "receipts"
# The API filters by day (UTC): re-read from a little before the watermark's day.
OVERLAP = timedelta(hours=1)
COMPANY_FACTS_TTL = timedelta(hours=24)
BATCH_ITEMS = 30
SEND_WORKERS = 4


def _staging_row(integration_id: int, txn: dict[str, Any]) -> dict[str, Any]:
    from qbo_crm_sync.flows.receipts_mapping import _status

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
            **refund_sweep(job, now)}


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


def company_facts(job: Job) -> dict[str, Any]:
    """Home currency and default Item of the QBO company, re-read once a day (two metered reads)."""
    from qbo_crm_sync.hooks.quickbooks import quote

    integration = job.integration
    with job.connect() as conn:
        known = watermarks.read(conn, integration.id, COMPANY_STREAM)
    now = datetime.now(UTC)
    if known and known.value and now - known.value < COMPANY_FACTS_TTL and known.state.get("home_currency"):
        return known.state
    item = job.qbo.query_one("SELECT * FROM Item WHERE Active = true ORDERBY Id")
    deposit = integration.settings.get("deposit_account_id")
    if deposit:
        account = job.qbo.query_one(f"SELECT * FROM Account WHERE Id = {quote(str(deposit))}")  # noqa: S608
    else:
        account = job.qbo.query_one("SELECT * FROM Account WHERE AccountSubType = 'UndepositedFunds'")
    facts = {
        # The deposit account (Undeposited Funds by default) is kept in the home currency.
        "home_currency": ((account or {}).get("CurrencyRef") or {}).get("value") or "USD",
        "default_item_id": str(item["Id"]) if item else None,
    }
    with job.connect() as conn:
        watermarks.advance(conn, integration.id, COMPANY_STREAM, now, facts, force=True)
        conn.commit()
    return facts


def transform(job: Job) -> dict[str, Any]:
    import pandas as pd

    from qbo_crm_sync.flows.receipts_mapping import to_receipts
    from qbo_crm_sync.quality.receipts import receipts_suite
    from qbo_crm_sync.quality.runner import validate

    integration = job.integration
    with job.connect() as conn:
        rows = staging.pending(conn, STAGING_TABLE, integration.id, FLOW)
    if not rows:
        log.info("Nothing new to transform")
        return {"transformed": 0, "rejected": 0, "skipped": 0, "queued": 0}
    source_hash = {r["source_id"]: r["payload_hash"] for r in rows}
    outcomes: list[Outcome] = []
    with job.connect() as conn:
        done = {sid: r for sid, r in _receipts(conn, integration.id, list(source_hash)).items() if r["receipt_id"]}
    refunds = _refunds_to_queue(rows, done)
    for sid, r in done.items():
        if sid in refunds:
            continue
        outcomes.append(Outcome(sid, "loaded", _receipt_note(r), target_id=r["receipt_id"],
                                payload_hash=source_hash[sid]))
    fresh = [r for r in rows if r["source_id"] not in done]
    early = [r for r in fresh if r["created_at_source"] and r["created_at_source"] < integration.connected_at]
    for r in early:
        outcomes.append(Outcome(r["source_id"], "skipped", "paid before the integration was connected",
                                payload_hash=r["payload_hash"]))
    early_ids = {r["source_id"] for r in early}
    fresh = [r for r in fresh if r["source_id"] not in early_ids]
    frame = pd.DataFrame({"source_id": [r["source_id"] for r in fresh], "raw": [r["raw"] for r in fresh]})
    facts = company_facts(job) if fresh else {"home_currency": "USD", "default_item_id": None}
    mapped = to_receipts(frame, integration.settings, facts["default_item_id"])
    for row in mapped[mapped["skip_reason"].notna()].itertuples(index=False):
        outcomes.append(Outcome(row.source_id, "skipped", row.skip_reason, payload_hash=source_hash[row.source_id]))
    eligible = mapped[mapped["kind"].notna() & mapped["skip_reason"].isna()].reset_index(drop=True)

    queued: list[outbox.Item] = []
    suite = receipts_suite(facts["home_currency"])
    verdicts = validate(eligible, suite) if len(eligible) else None
    if verdicts is not None:
        for rejected in verdicts.rejected.itertuples(index=False):
            outcomes.append(Outcome(rejected.source_id, "rejected", rejected.reason,
                                    payload_hash=source_hash[rejected.source_id]))
        for row in verdicts.passed.itertuples(index=False):
            queued.append(outbox.Item(row.source_id, {"receipt": row.payload, "email": row.email,
                                                      "name": row.display_name},
                                      source_hash[row.source_id], row.email))
    with job.connect() as conn:
        _put_receipts(conn, job, eligible)
        settled = [o.source_id for o in outcomes if o.status in ("skipped", "rejected")]
        outbox.remove(conn, integration.id, FLOW, settled)
        outbox.put(conn, integration.id, FLOW, job.run_id, queued + list(refunds.values()))
        _refunds_seen(conn, job, rows, done)
        counts = tracking.record(conn, job.run_id, integration.id, FLOW, outcomes)
        if verdicts is not None:
            tracking.save_validation(conn, job.run_id, suite.name, verdicts.result)
        conn.commit()
    result = {"transformed": len(rows), "rejected": counts.get("rejected", 0),
              "skipped": counts.get("skipped", 0), "queued": len(queued), "refunds_queued": len(refunds)}
    log.info("Transformed %(transformed)d: %(queued)d queued, %(rejected)d rejected, %(skipped)d skipped", result)
    return result


def _receipt_note(receipt: dict[str, Any]) -> str:
    note = f"sales receipt {receipt['receipt_id']} already created"
    if receipt["refunded_total"]:
        note += (f"; refunded {Decimal(receipt['refunded_total']):.2f} in QBO (RefundReceipt "
                 f"{receipt['refund_receipt_id']})")
    return note + "; later changes in the CRM other than refunds are not applied to it"


def _refunds_to_queue(rows: list[dict[str, Any]], done: dict[str, dict[str, Any]]) -> dict[str, outbox.Item]:
    """Receipted payments the CRM has refunded more of than QBO holds: one refund step each,
    named by the CRM's cumulative refunded amount (the amount itself is worked out at load)."""
    from qbo_crm_sync.flows.receipts_mapping import refunded_amount, txn_date

    out: dict[str, outbox.Item] = {}
    for row in rows:
        receipt = done.get(row["source_id"])
        if receipt is None:
            continue
        refunded = refunded_amount(row["raw"], Decimal(receipt["crm_amount"]))
        if refunded > Decimal(receipt["refunded_total"]):
            day = txn_date(row["raw"], keys=("updatedAt",))
            out[row["source_id"]] = outbox.Item(row["source_id"], {"refund": {
                "refunded_total": str(refunded), "txn_date": day}}, row["payload_hash"])
    return out


def _refunds_seen(conn: Connection, job: Job, rows: list[dict[str, Any]], done: dict[str, dict[str, Any]]) -> None:
    from qbo_crm_sync.flows.receipts_mapping import refunded_amount

    seen = {r["source_id"]: refunded_amount(r["raw"], Decimal(done[r["source_id"]]["crm_amount"]))
            for r in rows if r["source_id"] in done}
    if seen:
        conn.execute(query("receipts_refund_seen"), {"integration_id": job.integration.id, "run_id": job.run_id,
                                                     "source_ids": list(seen), "amounts": list(seen.values())})


def _receipts(conn: Connection, integration_id: int, source_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not source_ids:
        return {}
    rows = conn.execute(query("receipts_get"), {"integration_id": integration_id, "source_ids": source_ids})
    return {r["source_id"]: r for r in rows.fetchall()}


def _put_receipts(conn: Connection, job: Job, eligible: Any) -> None:
    if not len(eligible):
        return
    def values(column: str) -> list[Any]:
        # pandas turns missing strings into NaN: back to None for the database.
        return [v if isinstance(v, str | Decimal) else None for v in eligible[column]]

    today = datetime.now(UTC).date().isoformat()
    conn.execute(query("receipts_put"), {
        "integration_id": job.integration.id, "run_id": job.run_id,
        "source_ids": values("source_id"),
        "txn_days": [d or today for d in values("txn_date")],
        "currencies": [c or "?" for c in values("currency")],
        "amounts": [a if a is not None else Decimal(0) for a in values("amount")],
        "doc_numbers": values("doc_number"),
        "emails": values("email"),
    })


# ------------------------------------------------------------------------------------- load


class _Applier:
    """Applies batch answers: one transaction per batch for row status, entity map, receipt row and outbox."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.totals: dict[str, int] = {}
        self.customer_notes: dict[str, str] = {}  # payment → how its customer was found, for the row's reason
        self._lock = threading.Lock()

    def __call__(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        refunds = [(i, r) for i, r in zip(items, results, strict=True) if "RefundReceipt" in i]
        sales = [(i, r) for i, r in zip(items, results, strict=True) if "RefundReceipt" not in i]
        if sales:
            self._sales(conn, [i for i, _ in sales], [r for _, r in sales])
        if refunds:
            self._refunds(conn, [i for i, _ in refunds], [r for _, r in refunds])

    def _sales(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        iid = self.job.integration.id
        docs = [i["SalesReceipt"]["DocNumber"] for i in items]
        known = {r["doc_number"]: r for r in conn.execute(
            query("receipts_by_doc_number"), {"integration_id": iid, "doc_numbers": docs}).fetchall()}
        outcomes: list[Outcome] = []
        mapped: list[dict[str, Any]] = []
        for item, result in zip(items, results, strict=True):
            sent = item["SalesReceipt"]
            row = known.get(sent["DocNumber"])
            if row is None:
                log.error("Batch answer for DocNumber %s matches no tracked payment", sent["DocNumber"])
                continue
            sid = row["source_id"]
            error = result.get("error")
            receipt = result.get("SalesReceipt")
            if error is None and receipt:
                customer_id = str((receipt.get("CustomerRef") or {}).get("value") or "")
                conn.execute(query("receipts_created"), {
                    "integration_id": iid, "source_id": sid, "receipt_id": str(receipt["Id"]),
                    "customer_id": customer_id, "qbo_total": money(receipt.get("TotalAmt")),
                    "deposit_account_id": _ref(receipt.get("DepositToAccountRef")), "item_id": _item_of(receipt),
                    "run_id": self.job.run_id})
                note = self.customer_notes.get(sid)
                outcomes.append(Outcome(sid, "loaded", "created sales receipt" + (f" (customer: {note})" if note else ""),
                                        target_id=str(receipt["Id"]), payload_hash=row["payload_hash"]))
                mapped.append({"integration_id": iid, "source_system": "highlevel", "source_type": "transaction",
                               "source_id": sid, "target_system": "quickbooks", "target_type": "salesreceipt",
                               "target_id": str(receipt["Id"]), "payload_hash": row["payload_hash"],
                               "sync_token": receipt.get("SyncToken")})
            else:
                conn.execute(query("receipts_refused"), {"integration_id": iid, "source_id": sid,
                                                         "run_id": self.job.run_id})
                outcomes.append(Outcome(sid, "failed", f"QuickBooks refused the receipt: {error}",
                                        payload_hash=row["payload_hash"]))
        self._settle(conn, outcomes, mapped)

    def _refunds(self, conn: Connection, items: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        iid = self.job.integration.id
        docs = [i["RefundReceipt"]["DocNumber"] for i in items]
        known = {r["doc_number"]: r for r in conn.execute(
            query("refunds_by_doc_number"), {"integration_id": iid, "doc_numbers": docs}).fetchall()}
        outcomes: list[Outcome] = []
        mapped: list[dict[str, Any]] = []
        for item, result in zip(items, results, strict=True):
            doc = item["RefundReceipt"]["DocNumber"]
            step = known.get(doc)
            if step is None:
                log.error("Batch answer for refund DocNumber %s matches no tracked refund", doc)
                continue
            sid, total = step["source_id"], Decimal(step["refunded_total"])
            error = result.get("error")
            refund = result.get("RefundReceipt")
            if error is None and refund:
                amount = money(refund.get("TotalAmt"))
                conn.execute(query("refunds_created"), {
                    "integration_id": iid, "doc_number": doc, "refund_receipt_id": str(refund["Id"]),
                    "qbo_total": amount, "run_id": self.job.run_id})
                outcomes.append(Outcome(
                    sid, "loaded", f"refunded {amount if amount is not None else step['amount']:.2f} in QBO: "
                    f"RefundReceipt {refund['Id']} against SalesReceipt {step['receipt_id']} "
                    f"(refunded {total:.2f} in all)", target_id=step["receipt_id"], payload_hash=step["payload_hash"]))
                mapped.append({"integration_id": iid, "source_system": "highlevel", "source_type": "transaction",
                               "source_id": f"{sid}/refund/{total:.2f}", "target_system": "quickbooks",
                               "target_type": "refund_receipt", "target_id": str(refund["Id"]),
                               "payload_hash": step["payload_hash"], "sync_token": refund.get("SyncToken")})
            else:
                conn.execute(query("refunds_refused"), {"integration_id": iid, "doc_number": doc,
                                                        "run_id": self.job.run_id})
                outcomes.append(Outcome(sid, "failed", f"QuickBooks refused the refund receipt: {error}",
                                        target_id=step["receipt_id"], payload_hash=step["payload_hash"]))
        self._settle(conn, outcomes, mapped)

    def _settle(self, conn: Connection, outcomes: list[Outcome], mapped: list[dict[str, Any]]) -> None:
        iid = self.job.integration.id
        counts = tracking.record(conn, self.job.run_id, iid, FLOW, outcomes)
        tracking.entity_map_put(conn, mapped)
        outbox.remove(conn, iid, FLOW, [o.source_id for o in outcomes if o.status in ("loaded", "dead")])
        self.add(counts)

    def add(self, counts: dict[str, int]) -> None:
        with self._lock:
            for status, n in counts.items():
                self.totals[status] = self.totals.get(status, 0) + n


def _ref(ref: Any) -> str | None:
    value = (ref or {}).get("value") if isinstance(ref, dict) else None
    return str(value) if value else None


def _item_of(receipt: dict[str, Any]) -> str | None:
    """The ItemRef of the receipt's first item line: what its refunds are booked against."""
    for line in receipt.get("Line") or []:
        if line.get("DetailType") == "SalesItemLineDetail":
            return _ref((line.get("SalesItemLineDetail") or {}).get("ItemRef"))
    return None


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    return with_decimals(item)


def load(job: Job) -> dict[str, Any]:
    integration = job.integration
    with qbo_customers.advisory_lock(job.db_url, f"receipts:{integration.id}"):
        return _load_locked(job)


def _load_locked(job: Job) -> dict[str, Any]:
    from qbo_crm_sync.hooks.quickbooks import batch_item_id

    iid = job.integration.id
    applier = _Applier(job)
    resent, settled = qbo_batch_log.resend_pending(job, PURPOSE, applier, _decode,
                                                   locate=qbo_batch_log.by_doc_number(job.qbo))
    if not settled:
        with job.connect() as conn:
            waiting = len(outbox.waiting(conn, iid, FLOW))
        log.warning("A receipt batch's outcome is still unknown: nothing new is sent until it is settled")
        return {"to_load": waiting, "deferred": waiting, "resent_batches": resent, **_requests(job)}
    with job.connect() as conn:
        items = outbox.waiting(conn, iid, FLOW)
        receipts = _receipts(conn, iid, [i.source_id for i in items])
    if not items:
        log.info("Nothing to load")
        return {"to_load": 0, "resent_batches": resent, **applier.totals, **_requests(job)}

    refund_items = [i for i in items if "refund" in i.payload]
    sale_items = [i for i in items if "refund" not in i.payload]
    # Created already (e.g. by a re-sent batch): settle without writing again.
    outcomes = [Outcome(i.source_id, "loaded", "sales receipt already created",
                        target_id=receipts[i.source_id]["receipt_id"], payload_hash=i.payload_hash)
                for i in sale_items if receipts.get(i.source_id, {}).get("receipt_id")]
    todo = [i for i in sale_items if not receipts.get(i.source_id, {}).get("receipt_id")]
    names: dict[str, str | None] = {}
    for item in todo:
        names.setdefault(item.payload["email"], item.payload.get("name"))
    log.info("Loading %d receipts for %d customer email(s)", len(todo), len(names))
    resolved = qbo_customers.resolve(job, names) if names else {}

    batch_items: list[dict[str, Any]] = []
    for item in todo:
        resolution = resolved.get(item.payload["email"])
        if resolution is None or not resolution.customer_id:
            outcomes.append(Outcome(item.source_id, "failed",
                                    f"no QuickBooks customer: {resolution.how if resolution else 'no email'}",
                                    payload_hash=item.payload_hash))
            continue
        tries = (receipts.get(item.source_id) or {}).get("tries", 0)
        applier.customer_notes[item.source_id] = resolution.how
        body = {**item.payload["receipt"], "CustomerRef": {"value": resolution.customer_id}}
        batch_items.append({"bId": batch_item_id("receipt", iid, item.source_id, tries), "operation": "create",
                            "SalesReceipt": body})
    with job.connect() as conn:
        applier.add(tracking.record(conn, job.run_id, iid, FLOW, outcomes))
        outbox.remove(conn, iid, FLOW, [o.source_id for o in outcomes if o.status in ("loaded", "dead")])
        conn.commit()
    refund_batch = _refund_steps(job, applier, refund_items, receipts)

    chunks = [batch_items[i:i + BATCH_ITEMS] for i in range(0, len(batch_items), BATCH_ITEMS)]
    # Refunds go after the receipts, in batches of their own.
    chunks += [refund_batch[i:i + BATCH_ITEMS] for i in range(0, len(refund_batch), BATCH_ITEMS)]
    unknown = 0
    with ThreadPoolExecutor(SEND_WORKERS, thread_name_prefix="qbo-receipts") as pool:
        futures = [pool.submit(qbo_batch_log.send, job, PURPOSE, chunk, applier, _decode) for chunk in chunks]
        for future in futures:
            try:
                unknown += 0 if future.result() else 1
            except AuthError:
                raise
    if unknown:
        log.warning("%d receipt batch(es) without an answer: re-sent first next run", unknown)
    return {"to_load": len(items), "loaded": applier.totals.get("loaded", 0),
            "failed": applier.totals.get("failed", 0), "dead": applier.totals.get("dead", 0),
            "refunds": len(refund_batch), "batches": len(chunks), "unknown_batches": unknown,
            "resent_batches": resent,
            "deferred": unknown * BATCH_ITEMS, **_requests(job)}


def _refund_steps(job: Job, applier: _Applier, items: list[outbox.Item],
                  receipts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Batch items for the queued refund steps, each for the difference between the CRM's refunded
    amount and what QBO holds already (read after every pending batch was settled, so a step whose
    first send landed is not refunded again). Steps with nothing left to refund are settled here."""
    from qbo_crm_sync.flows.receipts_mapping import refund_body
    from qbo_crm_sync.hooks.quickbooks import batch_item_id

    iid = job.integration.id
    outcomes: list[Outcome] = []
    batch: list[dict[str, Any]] = []
    done: list[str] = []
    with job.connect() as conn:
        for item in items:
            sid = item.source_id
            receipt = receipts.get(sid) or {}
            if not receipt.get("receipt_id"):
                outcomes.append(Outcome(sid, "skipped", "refunded in the CRM: no sales receipt in QBO to refund",
                                        payload_hash=item.payload_hash))
                done.append(sid)
                continue
            total = min(Decimal(item.payload["refund"]["refunded_total"]), Decimal(receipt["crm_amount"]))
            amount = total - Decimal(receipt["refunded_total"])
            if amount <= 0:
                outcomes.append(Outcome(sid, "loaded", _receipt_note(receipt), target_id=receipt["receipt_id"],
                                        payload_hash=item.payload_hash))
                continue
            receipt = _with_receipt_refs(job, receipt)
            if not receipt.get("deposit_account_id"):
                outcomes.append(Outcome(sid, "failed", f"sales receipt {receipt['receipt_id']} names no deposit "
                                        "account to refund from", target_id=receipt["receipt_id"],
                                        payload_hash=item.payload_hash))
                continue
            body = refund_body(sid, receipt, total, amount, item.payload["refund"].get("txn_date"))
            step = conn.execute(query("refunds_put"), {
                "integration_id": iid, "source_id": sid, "refunded_total": total, "amount": amount,
                "doc_number": body["DocNumber"], "receipt_id": receipt["receipt_id"],
                "payload_hash": item.payload_hash, "run_id": job.run_id}).fetchone()
            assert step is not None
            batch.append({"bId": batch_item_id("refund", iid, sid, f"{total:.2f}", step["tries"]),
                          "operation": "create", "RefundReceipt": body})
        applier.add(tracking.record(conn, job.run_id, iid, FLOW, outcomes))
        outbox.remove(conn, iid, FLOW, [o.source_id for o in outcomes if o.status in ("loaded", "dead")] + done)
        conn.commit()
    if batch:
        log.info("Refunding %d payment(s) in QBO", len(batch))
    return batch


def _with_receipt_refs(job: Job, receipt: dict[str, Any]) -> dict[str, Any]:
    """The receipt's deposit account and item, read from QBO when not recorded (older receipts)."""
    from qbo_crm_sync.hooks.quickbooks import quote

    if receipt.get("deposit_account_id") and receipt.get("item_id"):
        return receipt
    found = job.qbo.query_one(f"SELECT * FROM SalesReceipt WHERE Id = {quote(str(receipt['receipt_id']))}")  # noqa: S608
    if not found:
        return receipt
    return {**receipt, "deposit_account_id": receipt.get("deposit_account_id") or _ref(found.get("DepositToAccountRef")),
            "item_id": receipt.get("item_id") or _item_of(found)}


def _requests(job: Job) -> dict[str, Any]:
    stats = getattr(job.qbo_hook, "stats", None)
    if stats is None:
        return {}
    counts = stats.as_dict()
    return {"qbo_requests": int(sum(v for k, v in counts.items() if k not in ("throttled_s", "token"))),
            "qbo_reads": int(counts.get("read", 0))}


# ----------------------------------------------------------------------------------- report


def reconciliation(conn: Connection, integration_id: int, run_id: int,
                   lookback_days: int = 120) -> list[dict[str, Any]]:
    """Per day and currency of the refund look-back (and any older day the run touched): CRM total
    of eligible payments vs QBO receipts' total, so a refund the sync missed shows as a gap.

    Payments with no receipt yet are reported apart (rejected, failed, other): the tracking already
    names them. Refunds are netted on both sides (``crm_net``, ``qbo_net``); a CRM refund not yet in
    QBO is reported apart (``refunds_not_in_qbo``). ``mismatch`` is what it cannot explain: receipts
    or refund receipts whose QBO totals differ from the CRM amounts they were made for.
    """
    since_day = datetime.now(UTC).date() - timedelta(days=lookback_days)
    rows = conn.execute(query("receipts_reconciliation"),
                        {"integration_id": integration_id, "run_id": run_id, "since_day": since_day}).fetchall()
    out = []
    for r in rows:
        qbo, receipted = Decimal(r["qbo_total"]), Decimal(r["receipted_crm_total"])
        crm_refunded, qbo_refunded = Decimal(r["crm_refunded"]), Decimal(r["qbo_refunded"])
        refunded_in_qbo = Decimal(r["refunded_in_qbo"])
        out.append({
            "day": r["txn_day"].isoformat(), "currency": r["currency"], "touched": bool(r["touched"]),
            "payments": r["payments"], "crm_total": f"{Decimal(r['crm_total']):.2f}",
            "receipts": r["receipts"], "qbo_total": f"{qbo:.2f}",
            "outstanding": r["payments"] - r["receipts"],
            "outstanding_total": f"{Decimal(r['outstanding_total']):.2f}",
            "outstanding_by_status": {k: n for k, n in (("rejected", r["outstanding_rejected"]),
                                                        ("failed", r["outstanding_failed"]),
                                                        ("not yet loaded", r["outstanding_other"])) if n},
            "crm_refunded": f"{crm_refunded:.2f}", "qbo_refunded": f"{qbo_refunded:.2f}",
            "crm_net": f"{Decimal(r['crm_total']) - crm_refunded:.2f}", "qbo_net": f"{qbo - qbo_refunded:.2f}",
            "refunds_not_in_qbo": f"{crm_refunded - refunded_in_qbo:.2f}",
            "mismatch": qbo != receipted or qbo_refunded != refunded_in_qbo,
        })
    return out


def _needs_a_look(r: dict[str, Any]) -> bool:
    return bool(r["mismatch"] or r["outstanding"] or Decimal(r["refunds_not_in_qbo"]))


def render_reconciliation(rows: list[dict[str, Any]], lookback_days: int = 120) -> str:
    """The window's totals per currency, then the days the run touched and every day with a gap."""
    if not rows:
        return f"  reconciliation: no eligible payments in the last {lookback_days} days"
    lines = [f"  reconciliation over the refund look-back ({lookback_days} days), per currency: "
             "CRM eligible payments net of refunds vs QBO receipts net of refund receipts"]
    for currency in sorted({r["currency"] for r in rows}):
        mine = [r for r in rows if r["currency"] == currency]
        crm = sum((Decimal(r["crm_net"]) for r in mine), Decimal(0))
        qbo = sum((Decimal(r["qbo_net"]) for r in mine), Decimal(0))
        gaps = sum(1 for r in mine if _needs_a_look(r))
        lines.append(f"    {currency:<4} CRM {crm:>12.2f}   QBO {qbo:>12.2f}   "
                     + (f"{gaps} day(s) with a gap, below" if gaps else "no gap"))
    shown = [r for r in rows if r["touched"] or _needs_a_look(r)]
    if shown:
        lines.append("  by day (days this run touched, and days with a gap; not in QBO by row status)")
    for r in shown:
        flag = "  << MISMATCH: QBO totals differ from the CRM amounts" if r["mismatch"] else ""
        gap = ""
        if r["outstanding"]:
            why = ", ".join(f"{n} {status}" for status, n in r["outstanding_by_status"].items())
            gap = f"   not in QBO {r['outstanding_total']:>10} ({why})"
        refunds = ""
        if Decimal(r["crm_refunded"]) or Decimal(r["qbo_refunded"]):
            refunds = f"   refunds CRM {r['crm_refunded']} / QBO {r['qbo_refunded']} (net {r['crm_net']} / {r['qbo_net']})"
            if Decimal(r["refunds_not_in_qbo"]):
                refunds += f", {r['refunds_not_in_qbo']} not yet in QBO"
        lines.append(f"    {r['day']} {r['currency']:<4} CRM {r['crm_total']:>12} ({r['payments']:>5})"
                     f"   QBO {r['qbo_total']:>12} ({r['receipts']:>5}){gap}{refunds}{flag}")
    return "\n".join(lines)


def report(job: Job) -> dict[str, Any]:
    from qbo_crm_sync import reporting

    with job.connect() as conn:
        summary = reporting.run_summary(conn, job.run_id)
        lookback = int(job.integration.settings["refund_lookback_days"])
        recon = reconciliation(conn, job.integration.id, job.run_id, lookback)
    by_status = summary["by_status"]
    mismatches = sum(1 for r in recon if r["mismatch"])
    summary["status"] = status = reporting.run_status(summary, other_problems=mismatches)
    log.info("Summary\n%s\n%s", reporting.render(summary), render_reconciliation(recon, lookback))
    return {"run_status": status, "reconciliation": recon, "reconciliation_mismatches": mismatches,
            **{f"rows_{k}": v for k, v in by_status.items()}}
