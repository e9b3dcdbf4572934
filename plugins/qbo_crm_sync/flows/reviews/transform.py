"""Review requests, transform: each staged payment not yet handled (or changed) gets its verdict
(decide.py) against the invoice mirror, the customer's other payments, the customer's review
request and the ``auto_send_review`` setting at the moment QBO recorded the payment. Due requests
are queued in ``sync.outbox`` (one per payment); a payment voided or deleted since its request was
queued takes it out of the queue again."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.reviews.decide import Claim, Payment, Verdict, decide
from qbo_crm_sync.flows.reviews.shared import (
    FLOW,
    STAGING_TABLE,
    claim_of,
    claims_of,
    invoices_of,
    payments_staged,
)
from qbo_crm_sync.store import integrations, outbox, staging, tracking
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)


def auto_send_at(conn: Connection, integration_id: int, moment: datetime | None) -> bool:
    """Whether review requests were to be sent at ``moment`` (off when the moment is unknown)."""
    if moment is None:
        return False
    return integrations.setting_at(conn, integration_id, "auto_send_review", moment) is True


def verdicts(conn: Connection, job: Job, payments: list[Payment]) -> list[Verdict]:
    """The verdict on each payment, with what the store knows now."""
    iid = job.integration.id
    customers = sorted({p.customer_id for p in payments if p.customer_id})
    invoices = invoices_of(conn, iid, customers)
    known = payments_staged(conn, iid, customers)
    claims = [claim_of(r) for r in claims_of(conn, iid, customers, [p.id for p in payments])]
    out = []
    for payment in payments:
        claim = _claim_for(payment, claims)
        customer = payment.customer_id or (claim.customer_id if claim else None)
        out.append(decide(
            payment, invoices.get(customer or "", []), {k: v for k, v in known.items() if v.customer_id == customer},
            connected_at=job.integration.connected_at,
            auto_send_at_payment=auto_send_at(conn, iid, payment.created_at),
            claim=claim))
    return out


def _claim_for(payment: Payment, claims: list[Claim]) -> Claim | None:
    """The request made for this payment, else the customer's."""
    mine = next((c for c in claims if c.payment_id == payment.id), None)
    return mine or next((c for c in claims if payment.customer_id and c.customer_id == payment.customer_id), None)


def transform(job: Job) -> dict[str, Any]:
    from qbo_crm_sync.flows.reviews.shared import payment_of

    iid = job.integration.id
    with job.connect() as conn:
        rows = staging.pending(conn, STAGING_TABLE, iid, FLOW)
    if not rows:
        log.info("Nothing new to transform")
        return {"transformed": 0, "queued": 0, "skipped": 0}
    source_hash = {r["source_id"]: r["payload_hash"] for r in rows}
    payments = [payment_of(r["raw"], r["deleted"]) for r in rows]
    with job.connect() as conn:
        decided = verdicts(conn, job, payments)
        queued = [outbox.Item(v.payment_id, {"customer_id": v.customer_id, "invoice_id": v.invoice_id},
                              source_hash[v.payment_id], v.customer_id) for v in decided if v.due]
        outcomes = [Outcome(v.payment_id, v.status, v.reason, payload_hash=source_hash[v.payment_id])
                    for v in decided if not v.due]
        outbox.remove(conn, iid, FLOW, [o.source_id for o in outcomes if o.status != "failed"])
        outbox.put(conn, iid, FLOW, job.run_id, queued)
        counts = tracking.record(conn, job.run_id, iid, FLOW, outcomes)
        conn.commit()
    result = {"transformed": len(rows), "queued": len(queued), "skipped": counts.get("skipped", 0)}
    log.info("Transformed %(transformed)d payment(s): %(queued)d review request(s) due, %(skipped)d skipped", result)
    return result
