"""QBO batch writes that happen exactly once: a write-ahead log of every batch request.

QBO's ``requestid`` makes a repeated request answer its first answer instead of writing again,
but for ``/batch`` it covers the whole request, and a batch item's ``bId`` is no idempotency key.
So if a batch's answer is lost and the next attempt groups the items differently, the items that
had landed are written again. Hence:

1. a batch's items (with their deterministic bIds, from which the hook derives the requestid) are
   stored and committed before the request is sent;
2. a batch still ``pending`` after its sender stopped (crash, lost answer, retries exhausted) is
   re-sent exactly as stored, before any new batch is formed from the same work, so QBO replays
   its first answer (or, if it never arrived, performs it once);
3. the answer is applied and the batch closed in one database transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from qbo_crm_sync.errors import ApiError, AuthError, RetryableError
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.quickbooks import request_id
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.staging import dumps

log = logging.getLogger(__name__)

# apply(conn, items, results): results[i] answers items[i]; a result with "error" is a per-item fault.
Apply = Callable[[Connection, list[dict[str, Any]], list[dict[str, Any]]], None]


@dataclass(frozen=True)
class Pending:
    id: int
    items: list[dict[str, Any]]
    sends: int


def batch_request_id(items: Sequence[dict[str, Any]]) -> str:
    """The requestid the hook sends for these items (one request of ≤ 30)."""
    return request_id("batch", *[str(i["bId"]) for i in items])


def pending(conn: Connection, integration_id: int, purpose: str) -> list[Pending]:
    rows = conn.execute(query("qbo_customers_batch_pending"),
                        {"integration_id": integration_id, "purpose": purpose}).fetchall()
    return [Pending(r["id"], r["items"], r["sends"]) for r in rows]


def send(job: Job, purpose: str, items: list[dict[str, Any]], apply: Apply,
         decode: Callable[[dict[str, Any]], dict[str, Any]] = lambda item: item) -> bool:
    """Log, send and apply one batch (≤ 30 items). False when its outcome is unknown: it stays
    pending and is re-sent by :func:`resend_pending` before anything new is formed."""
    with job.connect() as conn:
        row = conn.execute(query("qbo_customers_batch_open"), {
            "integration_id": job.integration.id, "purpose": purpose,
            "request_id": batch_request_id(items), "items": Jsonb(items, dumps=dumps),
        }).fetchone()
        conn.commit()
    assert row is not None
    return _deliver(job, row["id"], [decode(i) for i in items], apply)


def resend_pending(job: Job, purpose: str, apply: Apply,
                   decode: Callable[[dict[str, Any]], dict[str, Any]] = lambda item: item) -> tuple[int, bool]:
    """Re-send every pending batch of ``purpose`` as stored; answer (how many, all settled)."""
    with job.connect() as conn:
        waiting = pending(conn, job.integration.id, purpose)
    for batch in waiting:
        log.warning("Re-sending %s batch %d (%d items, sent %d time(s) before) whose outcome is unknown",
                    purpose, batch.id, len(batch.items), batch.sends)
        with job.connect() as conn:
            conn.execute(query("qbo_customers_batch_resend"), {"id": batch.id})
            conn.commit()
        if not _deliver(job, batch.id, [decode(i) for i in batch.items], apply):
            return len(waiting), False
    return len(waiting), True


def _deliver(job: Job, batch_id: int, items: list[dict[str, Any]], apply: Apply) -> bool:
    try:
        results = job.qbo.batch(items)
    except AuthError:
        raise
    except RetryableError as exc:
        log.warning("Batch %d: outcome unknown (%s); it stays pending and is re-sent first next time",
                    batch_id, exc)
        return False
    except ApiError as exc:
        # QBO refused the request as a whole: nothing in it was written.
        results = [{"bId": i["bId"], "error": exc} for i in items]
        state = "refused"
    else:
        state = "done"
    with job.connect() as conn:
        closed = conn.execute(query("qbo_customers_batch_close"), {"id": batch_id, "state": state}).fetchone()
        if closed is not None:  # an overlapping sender may have applied the same answer already
            apply(conn, items, results)
        conn.commit()
    return True
