"""Receipts, transform: classify staged payments, map the eligible ones to receipt bodies, check
them, queue them; queue refund steps for receipted payments the CRM refunded since."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from qbo_crm_sync.flows.company import facts
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.receipts.shared import (
    FLOW,
    STAGING_TABLE,
    receipt_note,
    receipts_of,
)
from qbo_crm_sync.store import outbox, staging, tracking
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)


def transform(job: Job) -> dict[str, Any]:
    import pandas as pd

    from qbo_crm_sync.flows.receipts.mapping import to_receipts
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
        done = {sid: r for sid, r in receipts_of(conn, integration.id, list(source_hash)).items() if r["receipt_id"]}
    refunds = _refunds_to_queue(rows, done)
    for sid, r in done.items():
        if sid in refunds:
            continue
        outcomes.append(Outcome(sid, "loaded", receipt_note(r), target_id=r["receipt_id"],
                                payload_hash=source_hash[sid]))
    fresh = [r for r in rows if r["source_id"] not in done]
    early = [r for r in fresh if r["created_at_source"] and r["created_at_source"] < integration.connected_at]
    for r in early:
        outcomes.append(Outcome(r["source_id"], "skipped", "paid before the integration was connected",
                                payload_hash=r["payload_hash"]))
    early_ids = {r["source_id"] for r in early}
    fresh = [r for r in fresh if r["source_id"] not in early_ids]
    frame = pd.DataFrame({"source_id": [r["source_id"] for r in fresh], "raw": [r["raw"] for r in fresh]})
    if not fresh:
        mapped = frame.assign(kind=None, skip_reason=None)
    else:
        company = facts(job)
        mapped = to_receipts(frame, integration.settings, company, _orders(job, fresh))
    for row in mapped[mapped["skip_reason"].notna()].itertuples(index=False):
        outcomes.append(Outcome(row.source_id, "skipped", row.skip_reason, payload_hash=source_hash[row.source_id]))
    eligible = mapped[mapped["kind"].notna() & mapped["skip_reason"].isna()].reset_index(drop=True)
    unmappable = eligible["mapping_error"].notna() if len(eligible) else None
    if unmappable is not None and unmappable.any():
        for row in eligible[unmappable].itertuples(index=False):
            outcomes.append(Outcome(row.source_id, "rejected", f"amounts: {row.mapping_error}",
                                    payload_hash=source_hash[row.source_id]))
        eligible = eligible[~unmappable].reset_index(drop=True)

    queued: list[outbox.Item] = []
    suite = receipts_suite(company) if fresh else None
    verdicts = validate(eligible, suite) if suite is not None and len(eligible) else None
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
        if verdicts is not None and suite is not None:
            tracking.save_validation(conn, job.run_id, suite.name, verdicts.result)
        conn.commit()
    result = {"transformed": len(rows), "rejected": counts.get("rejected", 0),
              "skipped": counts.get("skipped", 0), "queued": len(queued), "refunds_queued": len(refunds)}
    log.info("Transformed %(transformed)d: %(queued)d queued, %(rejected)d rejected, %(skipped)d skipped", result)
    return result


def _refunds_to_queue(rows: list[dict[str, Any]], done: dict[str, dict[str, Any]]) -> dict[str, outbox.Item]:
    """Receipted payments the CRM has refunded more of than QBO holds: one refund step each,
    named by the CRM's cumulative refunded amount (the amount itself is worked out at load)."""
    from qbo_crm_sync.flows.receipts.mapping import refunded_amount, txn_date

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
    from qbo_crm_sync.flows.receipts.mapping import refunded_amount

    seen = {r["source_id"]: refunded_amount(r["raw"], Decimal(done[r["source_id"]]["crm_amount"]))
            for r in rows if r["source_id"] in done}
    if seen:
        conn.execute(query("receipts_refund_seen"), {"integration_id": job.integration.id, "run_id": job.run_id,
                                                     "source_ids": list(seen), "amounts": list(seen.values())})


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


def _orders(job: Job, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The CRM orders staged for these payments (order id → order), where extract read them."""
    ids = sorted({str(r["raw"]["entityId"]) for r in rows
                  if r["raw"].get("entityType") == "order" and r["raw"].get("entityId")})
    if not ids:
        return {}
    with job.connect() as conn:
        found = conn.execute(query("receipts_orders_get"), {"integration_id": job.integration.id, "order_ids": ids})
        return {r["source_id"]: r["raw"] for r in found.fetchall()}
