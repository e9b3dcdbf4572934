"""Invoices, transform: classify the staged invoices that changed, map the ones to write into QBO
Invoice bodies, check them, and queue what QBO should hold for each: the invoice as it is in the CRM
and the amount paid, or a void."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from qbo_crm_sync.flows.company import facts
from qbo_crm_sync.flows.contacts_transform import email_is_valid
from qbo_crm_sync.flows.extraction import local_day
from qbo_crm_sync.flows.invoices.mapping import (
    DELETED,
    doc_number,
    fingerprint,
    invoice_body,
    paid_of,
    skip_reason,
    status_of,
)
from qbo_crm_sync.flows.invoices.shared import FLOW, STAGING_TABLE, invoices_of, state_note
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_customers import display_name_for, email_key
from qbo_crm_sync.flows.sales_mapping import CENT, MappingError, money, resolve_tax_mode
from qbo_crm_sync.store import outbox, staging, tracking
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)

FRAME_COLUMNS = ["source_id", "held", "email", "email_valid", "display_name", "currency", "total_ok", "in_cents",
                 "paid_ok", "txn_date", "doc_number"]


def transform(job: Job) -> dict[str, Any]:
    import pandas as pd

    from qbo_crm_sync.quality.invoices import invoices_suite
    from qbo_crm_sync.quality.runner import validate

    integration = job.integration
    with job.connect() as conn:
        rows = staging.pending(conn, STAGING_TABLE, integration.id, FLOW)
        held = invoices_of(conn, integration.id, [r["source_id"] for r in rows])
    if not rows:
        log.info("Nothing new to transform")
        return {"transformed": 0, "rejected": 0, "skipped": 0, "queued": 0}
    company = facts(job)
    settings = integration.settings
    mode, why = resolve_tax_mode(settings.get("tax_mode"), company, settings.get("tax_code_id"))
    outcomes: list[Outcome] = []
    voids: list[outbox.Item] = []
    candidates: list[dict[str, Any]] = []
    for row in rows:
        sid, raw, digest = row["source_id"], row["raw"], row["payload_hash"]
        state = held.get(sid) or {}
        in_qbo = bool(state.get("invoice_id"))
        reason = skip_reason(raw, in_qbo, integration.connected_at, bool(settings.get("include_test_mode")))
        if reason:
            note = f"; {state_note(state)}" if in_qbo else ""
            outcomes.append(Outcome(sid, "skipped", reason + note, target_id=state.get("invoice_id"),
                                    payload_hash=digest))
            continue
        status = status_of(raw)
        if status in ("void", DELETED):
            voids.append(outbox.Item(sid, {"void": status}, digest))
            continue
        try:
            body = invoice_body(raw, sid, mode, company, settings.get("item_mapping"), settings.get("tax_code_id"))
        except MappingError as exc:
            outcomes.append(Outcome(sid, "rejected", f"amounts: {exc}", target_id=state.get("invoice_id"),
                                    payload_hash=digest))
            continue
        candidates.append(_candidate(raw, sid, digest, body, in_qbo, company.zone))
    frame = pd.DataFrame([{k: c[k] for k in FRAME_COLUMNS} for c in candidates], columns=FRAME_COLUMNS)
    suite = invoices_suite(company)
    verdicts = validate(frame, suite) if len(frame) else None
    queued: list[outbox.Item] = []
    if verdicts is not None:
        by_id = {c["source_id"]: c for c in candidates}
        for rejected in verdicts.rejected.itertuples(index=False):
            c = by_id[rejected.source_id]
            outcomes.append(Outcome(c["source_id"], "rejected", rejected.reason, payload_hash=c["payload_hash"]))
        passed = [by_id[sid] for sid in verdicts.passed["source_id"]]
        queued = [c["item"] for c in passed]
    else:
        passed = []
    with job.connect() as conn:
        _remember(conn, job, passed, voids)
        settled = [o.source_id for o in outcomes]
        outbox.remove(conn, integration.id, FLOW, settled)
        outbox.put(conn, integration.id, FLOW, job.run_id, queued + voids)
        counts = tracking.record(conn, job.run_id, integration.id, FLOW, outcomes)
        if verdicts is not None:
            tracking.save_validation(conn, job.run_id, suite.name, verdicts.result)
        conn.commit()
    result = {"transformed": len(rows), "rejected": counts.get("rejected", 0), "skipped": counts.get("skipped", 0),
              "queued": len(queued), "voids_queued": len(voids), "tax_mode": why}
    log.info("Transformed %(transformed)d: %(queued)d to write, %(voids_queued)d to void, %(rejected)d rejected, "
             "%(skipped)d skipped", result)
    return result


def _candidate(raw: dict[str, Any], sid: str, digest: str, body: dict[str, Any], in_qbo: bool,
               zone: Any) -> dict[str, Any]:
    contact = raw.get("contactDetails") if isinstance(raw.get("contactDetails"), dict) else {}
    email = email_key(contact.get("email"))
    total = money(raw.get("total"))
    total = total if total is not None else Decimal(0)
    paid = paid_of(raw, total)
    raw_paid = money(raw.get("amountPaid"))
    number, number_note = doc_number(raw)
    payload = {
        "invoice": body, "fingerprint": fingerprint(body), "email": email,
        "name": display_name_for(contact.get("name"), email), "total": f"{total:.2f}", "paid": f"{paid:.2f}",
        "currency": body["CurrencyRef"]["value"], "txn_day": body.get("TxnDate"), "doc_note": number_note,
        "pay_day": local_day(raw.get("updatedAt"), zone) or body.get("TxnDate"), "status": status_of(raw),
    }
    return {
        "source_id": sid, "payload_hash": digest, "held": in_qbo, "email": email, "email_valid": email_is_valid(email),
        "display_name": payload["name"], "currency": payload["currency"] or None,
        "total_ok": total >= 0, "in_cents": total == total.quantize(CENT) and (raw_paid is None or
                                                                             raw_paid == raw_paid.quantize(CENT)),
        "paid_ok": raw_paid is None or raw_paid <= total, "txn_date": body.get("TxnDate"), "doc_number": number,
        "item": outbox.Item(sid, payload, digest, email),
    }


def _remember(conn: Connection, job: Job, writes: list[dict[str, Any]], voids: list[outbox.Item]) -> None:
    """The CRM side of each queued invoice in sync.invoice (what load plans from and the report reconciles)."""
    if writes:
        items = [c["item"] for c in writes]
        conn.execute(query("invoices_put"), {
            "integration_id": job.integration.id, "run_id": job.run_id,
            "source_ids": [i.source_id for i in items],
            "txn_days": [i.payload["txn_day"] for i in items],
            "currencies": [i.payload["currency"] for i in items],
            "statuses": [i.payload["status"] for i in items],
            "totals": [Decimal(i.payload["total"]) for i in items],
            "paids": [Decimal(i.payload["paid"]) for i in items],
            "doc_numbers": [c["doc_number"] for c in writes],
            "doc_notes": [i.payload["doc_note"] for i in items],
            "emails": [i.payload["email"] for i in items],
            "payload_hashes": [i.payload_hash for i in items],
        })
    if voids:
        conn.execute(query("invoices_void_wanted"), {
            "integration_id": job.integration.id, "run_id": job.run_id,
            "source_ids": [i.source_id for i in voids], "statuses": [i.payload["void"] for i in voids],
            "payload_hashes": [i.payload_hash for i in voids],
        })
