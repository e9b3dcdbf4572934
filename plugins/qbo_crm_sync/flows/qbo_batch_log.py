"""QBO batch writes that happen exactly once: a write-ahead log of every batch request.

QBO's ``requestid`` makes a repeated request answer its first answer instead of writing again,
but for ``/batch`` it covers the whole request, and a batch item's ``bId`` is no idempotency key.
So if a batch's answer is lost and the next attempt groups the items differently, the items that
had landed are written again. Hence:

1. a batch's items (with their deterministic bIds, from which the hook derives the requestid) are
   stored and committed before the request is sent;
2. a batch still ``pending`` after its sender stopped (crash, lost answer, retries exhausted) is
   settled before any new batch is formed from the same work: when the flow can tell what landed
   (``locate``: a deterministic DocNumber, say), the items QBO already holds are applied from
   what it holds and only the rest is sent again; otherwise it is re-sent as stored, so QBO
   replays its first answer (or, if it never arrived, performs it once). Replay alone is not
   trusted: it is reported unreliable in the field (node-quickbooks#38,
   QuickBooks-V3-DotNET-SDK#352), so every flow either locates or writes something QBO refuses to
   duplicate (a customer's unique DisplayName);
3. the answer is applied and the batch closed in one database transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from qbo_crm_sync.errors import ApiError, AuthError, DuplicateDocNumber, RetryableError
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.quickbooks import BID_MAX, batch_item_id, request_id
from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.staging import dumps

log = logging.getLogger(__name__)

# apply(conn, items, results): results[i] answers items[i]; a result with "error" is a per-item fault.
Apply = Callable[[Connection, list[dict[str, Any]], list[dict[str, Any]]], None]
# locate(items): for each item, what QBO already holds for it (``{"<Entity>": body}``) or None.
Locate = Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]]


@dataclass(frozen=True)
class Pending:
    id: int
    items: list[dict[str, Any]]
    sends: int


def request_counts(job: Job) -> dict[str, Any]:
    """The QBO requests this job's hook has made so far, and how many of them were metered reads."""
    stats = getattr(job.qbo_hook, "stats", None)
    if stats is None:
        return {}
    counts = stats.as_dict()
    return {"qbo_requests": int(sum(v for k, v in counts.items() if k not in ("throttled_s", "token"))),
            "qbo_reads": int(counts.get("read", 0))}


def batch_request_id(items: Sequence[dict[str, Any]]) -> str:
    """The requestid the hook sends for these items (one request of ≤ 30)."""
    return request_id("batch", *[str(i["bId"]) for i in items])


def pending(conn: Connection, integration_id: int, purpose: str) -> list[Pending]:
    rows = conn.execute(query("qbo_customers_batch_pending"),
                        {"integration_id": integration_id, "purpose": purpose}).fetchall()
    return [Pending(r["id"], r["items"], r["sends"]) for r in rows]


def send(job: Job, purpose: str, items: list[dict[str, Any]], apply: Apply,
         decode: Callable[[dict[str, Any]], dict[str, Any]] = lambda item: item,
         locate: Locate | None = None, once: bool = False) -> bool:
    """Log, send and apply one batch (≤ 30 items). False when its outcome is unknown: it stays
    pending and is re-sent by :func:`resend_pending` before anything new is formed. With ``locate``,
    an item QBO refuses as a duplicate DocNumber (its earlier send landed, e.g. a retry whose first
    answer was lost) is looked up and applied as created. ``once``: the request is not sent again
    after an answer was lost (``QuickBooksHook.batch_once``), for writes QBO would not refuse to make
    twice (a payment): what landed is found by ``locate`` when the batch is settled."""
    with job.connect() as conn:
        row = conn.execute(query("qbo_customers_batch_open"), {
            "integration_id": job.integration.id, "purpose": purpose,
            "request_id": batch_request_id(items), "items": Jsonb(items, dumps=dumps),
        }).fetchone()
        conn.commit()
    assert row is not None
    return _deliver(job, row["id"], [decode(i) for i in items], apply, locate, once)


def resend_pending(job: Job, purpose: str, apply: Apply,
                   decode: Callable[[dict[str, Any]], dict[str, Any]] = lambda item: item,
                   locate: Locate | None = None, once: bool = False) -> tuple[int, bool]:
    """Settle every pending batch of ``purpose``: apply what ``locate`` finds in QBO, re-send the
    rest; answer (how many batches, all settled)."""
    with job.connect() as conn:
        waiting = pending(conn, job.integration.id, purpose)
    for batch in waiting:
        stored = batch.items
        if locate is not None:
            try:
                stored = _narrow(job, batch, locate, decode, apply)
            except RetryableError as exc:
                log.warning("%s batch %d: could not look up what landed (%s); retried next time", purpose, batch.id, exc)
                return len(waiting), False
            if not stored:
                continue
        log.warning("Re-sending %d item(s) of %s batch %d (sent %d time(s) before) whose outcome is unknown",
                    len(stored), purpose, batch.id, batch.sends)
        with job.connect() as conn:
            conn.execute(query("qbo_customers_batch_resend"), {"id": batch.id})
            conn.commit()
        if not _deliver(job, batch.id, [decode(i) for i in _short_bids(stored)], apply, locate, once):
            return len(waiting), False
    return len(waiting), True


def _narrow(job: Job, batch: Pending, locate: Locate, decode: Callable[[dict[str, Any]], dict[str, Any]],
            apply: Apply) -> list[dict[str, Any]]:
    """Apply the items of ``batch`` that QBO already holds; keep (and answer) only the others."""
    items = [decode(i) for i in batch.items]
    found = locate(items)
    landed = [(i, r) for i, r in zip(items, found, strict=True) if r is not None]
    if not landed:
        return batch.items
    rest = [raw for raw, r in zip(batch.items, found, strict=True) if r is None]
    log.warning("Batch %d: %d of %d item(s) found in QuickBooks already; applied without sending again",
                batch.id, len(landed), len(items))
    with job.connect() as conn:
        if rest:
            kept = conn.execute(query("qbo_batch_narrow"), {
                "id": batch.id, "items": Jsonb(rest, dumps=dumps), "request_id": batch_request_id(rest)}).fetchone()
        else:
            kept = conn.execute(query("qbo_customers_batch_close"), {"id": batch.id, "state": "done"}).fetchone()
        if kept is not None:  # an overlapping sender may have settled it already
            apply(conn, [i for i, _ in landed], [r for _, r in landed])
        conn.commit()
    return rest


# What a create is found by in QBO: its deterministic number (a Payment has no DocNumber of its own
# to be found by; its PaymentRefNum is filterable: Intuit's Payment reference).
KEY_FIELDS = {"Payment": "PaymentRefNum"}
# owned(sent, held): whether a transaction QBO holds under the sent number is this write's own.
Owned = Callable[[dict[str, Any], dict[str, Any]], bool]
# landed(item, held): whether an update or void already shows in what QBO holds for its Id.
Landed = Callable[[dict[str, Any], dict[str, Any]], bool]
ID_LIST_MAX = 100  # Ids per "Id IN (...)" query: a short URL


def same_customer(sent: dict[str, Any], held: dict[str, Any]) -> bool:
    """The default ownership test: the same customer, when the write names one."""
    customer = ref_value(sent.get("CustomerRef"))
    return customer is None or ref_value(held.get("CustomerRef")) == customer


def by_doc_number(qbo: Any, owned: Owned = same_customer, landed: Landed | None = None) -> Locate:
    """A ``locate`` for writes QBO can be asked about. Creates are named by a deterministic number
    (DocNumber; PaymentRefNum for payments): one ``IN (...)`` query per entity and batch, and a
    transaction held under that number counts as the item's only when ``owned`` says so (the same
    customer by default; a flow whose numbers can clash with the accountant's own asks for more).
    Updates and voids (items naming an Id) are looked up by Id when ``landed`` is given, and count as
    landed when it says so; without it they are sent again."""
    from qbo_crm_sync.hooks.quickbooks import quote

    def held_rows(entity: str, field: str, values: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        unique = sorted(set(values))
        for start in range(0, len(unique), ID_LIST_MAX):
            listed = ", ".join(quote(v) for v in unique[start:start + ID_LIST_MAX])
            # A QBO query, not SQL: every literal goes through quote().
            rows += qbo.query(f"SELECT * FROM {entity} WHERE {field} IN ({listed})")  # noqa: S608
        return rows

    def locate(items: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        by_number: dict[str, list[str]] = {}
        by_id: dict[str, list[str]] = {}
        for item in items:
            entity = _entity_of(item)
            if _is_create(item):
                by_number.setdefault(entity, []).append(str(item[entity][KEY_FIELDS.get(entity, "DocNumber")]))
            elif landed is not None:
                by_id.setdefault(entity, []).append(str(item[entity]["Id"]))
        numbered: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for entity, numbers in by_number.items():
            field = KEY_FIELDS.get(entity, "DocNumber")
            for row in held_rows(entity, field, numbers):
                numbered.setdefault((entity, str(row.get(field))), []).append(row)
        current: dict[tuple[str, str], dict[str, Any]] = {}
        for entity, ids in by_id.items():
            for row in held_rows(entity, "Id", ids):
                current[(entity, str(row.get("Id")))] = row
        found: list[dict[str, Any] | None] = []
        for item in items:
            entity = _entity_of(item)
            sent = item[entity]
            if _is_create(item):
                key = (entity, str(sent[KEY_FIELDS.get(entity, "DocNumber")]))
                rows = [r for r in numbered.get(key, []) if owned(sent, r)]
                found.append({entity: rows[0]} if rows else None)
            else:
                row = current.get((entity, str(sent.get("Id"))))
                found.append({entity: row} if row is not None and landed is not None and landed(item, row) else None)
        return found

    return locate


def _is_create(item: dict[str, Any]) -> bool:
    return item.get("operation", "create") == "create"


def _entity_of(item: dict[str, Any]) -> str:
    return next(k for k in item if k not in ("bId", "operation", "optionsData"))


def ref_value(ref: Any) -> str | None:
    value = ref.get("value") if isinstance(ref, dict) else None
    return str(value) if value not in (None, "") else None


def _found_duplicates(items: list[dict[str, Any]], results: list[dict[str, Any]],
                      locate: Locate) -> list[dict[str, Any]]:
    """Results where QBO refused an item as a duplicate DocNumber replaced by what it holds under
    that number for the same customer, when it holds it; the rest as they were."""
    doubtful = [n for n, r in enumerate(results) if isinstance(r.get("error"), DuplicateDocNumber)]
    if not doubtful:
        return results
    found = locate([items[n] for n in doubtful])
    out = list(results)
    for n, held in zip(doubtful, found, strict=True):
        if held is not None:
            out[n] = {"bId": items[n]["bId"], **held}
    log.warning("%d of %d duplicate DocNumber(s) were this sync's own earlier writes, found in QuickBooks",
                sum(held is not None for held in found), len(doubtful))
    return out


def _short_bids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items logged with the 36-character bIds QBO refuses: re-keyed to short ones (none of them
    can have landed, since QBO refused the whole request)."""
    return [i if len(str(i["bId"])) <= BID_MAX else {**i, "bId": batch_item_id(i["bId"])} for i in items]


def _deliver(job: Job, batch_id: int, items: list[dict[str, Any]], apply: Apply,
             locate: Locate | None = None, once: bool = False) -> bool:
    try:
        results = job.qbo.batch_once(items) if once else job.qbo.batch(items)
        if locate is not None:
            results = _found_duplicates(items, results, locate)
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
