"""Load: queued contact payloads written to the CRM, each decided against the mirror first.

:func:`write_contacts` takes any queued items (the scheduled load hands it the outbox; a backfill can
hand it its own batch). It brings the CRM contact mirror up to date (mirror.py), then works in chunks:
the chunk's contacts are looked up in the mirror, one thread plans every write in queue order
(plan.py), several threads send them (a create ``POST /contacts/`` or an update by id
``PUT /contacts/{id}``, never the upsert, whose match by phone could land on another person), and
the outcomes, entity map, mirror and outbox are committed together. Before each later chunk the
mirror reads what changed in the CRM meanwhile.

The mirror can still trail the CRM. Whatever it missed, HighLevel refuses the write rather than
merging it (a location that does not allow duplicate contacts answers 400 naming the contact that
holds the email or phone): that contact is read, and the customer planned once more with it known.
An update whose contact was deleted in the CRM is planned again without it. A create whose answer
is lost is not sent again: the next run finds the contact by its email or phone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

from qbo_crm_sync.errors import ApiError, AuthError, RetryableError
from qbo_crm_sync.flows.contacts import mirror
from qbo_crm_sync.flows.contacts.mirror import Contact, ContactIndex
from qbo_crm_sync.flows.contacts.plan import Plan, plan
from qbo_crm_sync.flows.contacts.transform import transform_customers
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.flows.qbo_customers import advisory_lock
from qbo_crm_sync.hooks.highlevel import DuplicateContact, is_not_found
from qbo_crm_sync.store import outbox, tracking
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)

LOAD_WORKERS = 4
LOAD_CHUNK = 200
# Consecutive retryable failures after which the CRM is treated as down for this run.
BREAKER = 25


@dataclass
class Written:
    """One customer's write: its outcome, the contacts the CRM showed on the way, ids it no longer has."""

    outcome: Outcome
    seen: list[Contact] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)


def sync_customers(job: Job, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Customer rows (as ``transform.transform_customers`` takes them) all the way to CRM contacts:
    checked and queued under the job's flow, then everything that flow has queued is written."""
    return {**transform_customers(job, rows), **load(job)}


def load(job: Job) -> dict[str, Any]:
    with job.connect() as conn:
        items = outbox.waiting(conn, job.integration.id, job.flow)
    if not items:
        log.info("Nothing to load")
        return {"to_load": 0}
    return write_contacts(job, items)


def write_contacts(job: Job, items: Sequence[outbox.Item]) -> dict[str, Any]:
    """Write these queued contacts (``outbox.Item``: source id, payload from ``to_contacts``, source
    hash) to the job's CRM location; record every outcome, the entity map and the mirror, and take
    the loaded and skipped ones out of the job's flow's outbox. One writer per integration at a
    time (a session advisory lock): two writers planning against one mirror could both create."""
    with advisory_lock(job.db_url, f"contacts_load:{job.integration.id}"):
        return _write_all(job, items)


def _write_all(job: Job, items: Sequence[outbox.Item]) -> dict[str, Any]:
    log.info("Loading %d contacts into CRM location %s", len(items), job.integration.location_id)
    refreshed = mirror.refresh(job)
    cursor = refreshed.newest
    totals: dict[str, int] = {}
    done = consecutive_failures = deferred = 0
    between_s = 0.0  # time the chunks spent being planned and committed, not sent
    with ThreadPoolExecutor(LOAD_WORKERS, thread_name_prefix="crm-load") as pool:
        for number, chunk in enumerate(_chunks(list(items), LOAD_CHUNK)):
            if consecutive_failures >= BREAKER:
                deferred += len(chunk)
                continue
            started = time.perf_counter()
            if number:
                cursor = _catch_up(job, cursor)
            index = mirror.index_for(job, [i.source_id for i in chunk], [i.payload for i in chunk])
            plans = [plan(index, item.source_id, item.payload) for item in chunk]
            sending = time.perf_counter()
            written = list(pool.map(_execute, repeat(job), repeat(index), chunk, plans))
            sent = time.perf_counter()
            for w in written:
                consecutive_failures = consecutive_failures + 1 if w.outcome.status == "failed" else 0
            for status, n in _commit(job, written).items():
                totals[status] = totals.get(status, 0) + n
            between_s += (sending - started) + (time.perf_counter() - sent)
            done += len(chunk)
            log.info("… %d/%d contacts done (%s)", done, len(items), totals)
    if deferred:
        log.warning("CRM kept failing: %d contacts left queued for the next run", deferred)
    return {"to_load": len(items), "loaded": totals.get("loaded", 0), "skipped_at_load": totals.get("skipped", 0),
            "failed": totals.get("failed", 0), "dead": totals.get("dead", 0), "deferred": deferred,
            "crm_mirror": refreshed.how, "crm_requests": _requests(job), "load_between_chunks_s": round(between_s, 2)}


def _catch_up(job: Job, cursor: datetime) -> datetime:
    """The CRM's changes since ``cursor`` into the mirror, between chunks. Best effort: when the CRM
    does not answer, the chunk is planned on the view it has (HighLevel still refuses duplicates)."""
    try:
        return mirror.refresh_since(job, cursor).newest
    except RetryableError as exc:
        log.warning("Reading the CRM's latest contact changes failed (%s): planning on the mirror as it is", exc)
        return cursor


def _execute(job: Job, index: ContactIndex, item: outbox.Item, decided: Plan, tries: int = 2) -> Written:
    """Send one planned write; when the CRM shows the mirror was behind, plan once more and send that."""
    if decided.action == "skip":
        if decided.confirm and tries > 1:
            return _confirm_skip(job, index, item, decided, tries)
        return Written(_outcome(item, "skipped", decided.reason))
    try:
        if decided.action == "create":
            answer = job.crm.create_contact(decided.body)
        else:
            answer = job.crm.update_contact(str(decided.contact_id), decided.body)
    except AuthError:
        raise
    except DuplicateContact as exc:
        return _after_refusal(job, index, item, exc, tries)
    except RetryableError as exc:
        index.release(item.source_id)
        return Written(_outcome(item, "failed", f"{type(exc).__name__}: {exc} (retried next run)"))
    except ApiError as exc:
        if decided.action == "update" and is_not_found(exc) and tries > 1:
            index.forget(str(decided.contact_id))
            again = _execute(job, index, item, plan(index, item.source_id, item.payload), tries - 1)
            again.gone.append(str(decided.contact_id))
            return again
        index.release(item.source_id)
        return Written(_outcome(item, "failed", f"CRM refused the contact ({exc.status}): {exc}"))
    if not answer.get("id"):
        index.release(item.source_id)
        return Written(_outcome(item, "failed", "CRM answered without a contact id"))
    contact = mirror.from_api(answer)
    index.written(item.source_id, contact)
    return Written(_outcome(item, "loaded", decided.reason, contact.id), seen=[contact])


def _after_refusal(job: Job, index: ContactIndex, item: outbox.Item, exc: DuplicateContact, tries: int) -> Written:
    """HighLevel refused the write because a contact the mirror did not know holds the email or phone."""
    index.release(item.source_id)
    if tries <= 1:
        return Written(_outcome(item, "failed", f"CRM refused the contact again ({exc.matching_field or 'duplicate'}): "
                                                f"{exc} (retried next run)"))
    try:
        found = job.crm.get_contact(exc.contact_id)
    except (RetryableError, ApiError) as read_error:
        if isinstance(read_error, AuthError):
            raise
        return Written(_outcome(item, "failed", f"CRM contact {exc.contact_id} holds this {exc.matching_field}, "
                                                f"and reading it failed: {read_error} (retried next run)"))
    if found is None:
        return Written(_outcome(item, "failed", f"CRM named contact {exc.contact_id} as holding this "
                                                f"{exc.matching_field} but does not have it (retried next run)"))
    other = mirror.from_api(found)
    with job.connect() as conn:
        synced = tracking.entity_map_by_target(conn, job.integration.id, "contact", [str(other.id)])
    index.put(other, {r["source_id"] for r in synced.get(str(other.id), []) if r["source_type"] == "customer"})
    log.info("CRM holds %s unknown to the mirror: customer %s planned again", other.describe(), item.source_id)
    again = _execute(job, index, item, plan(index, item.source_id, item.payload), tries - 1)
    again.seen.insert(0, other)
    return again


def _confirm_skip(job: Job, index: ContactIndex, item: outbox.Item, decided: Plan, tries: int) -> Written:
    """Read the contacts a skip rests on, then plan the customer again with what the CRM holds now:
    one deleted (or merged away) since the mirror last listed it is forgotten."""
    seen: list[Contact] = []
    gone: list[str] = []
    for contact_id in decided.confirm:
        try:
            found = job.crm.get_contact(contact_id)
        except (RetryableError, ApiError) as exc:
            if isinstance(exc, AuthError):
                raise
            return Written(_outcome(item, "failed", f"{decided.reason}; reading CRM contact {contact_id} to be sure "
                                                    f"failed: {exc} (retried next run)"))
        if found is None:
            index.forget(contact_id)
            gone.append(contact_id)
        else:
            seen.append(mirror.from_api(found))
            index.put(seen[-1])
    again = _execute(job, index, item, plan(index, item.source_id, item.payload), tries - 1)
    again.seen[:0] = seen
    again.gone[:0] = gone
    return again


def _outcome(item: outbox.Item, status: str, reason: str, target_id: str | None = None) -> Outcome:
    return Outcome(item.source_id, status, reason, target_id=target_id, payload_hash=item.payload_hash)


def _commit(job: Job, written: list[Written]) -> dict[str, int]:
    integration = job.integration
    outcomes = [w.outcome for w in written]
    loaded = [o for o in outcomes if o.status == "loaded"]
    with job.connect() as conn:
        counts = tracking.record(conn, job.run_id, integration.id, job.flow, outcomes)
        tracking.entity_map_put(conn, [{
            "integration_id": integration.id, "source_system": "quickbooks", "source_type": "customer",
            "source_id": o.source_id, "target_system": "highlevel", "target_type": "contact",
            "target_id": o.target_id, "payload_hash": o.payload_hash,
        } for o in loaded])
        mirror.forget(conn, integration.id, [cid for w in written for cid in w.gone])
        mirror.put(conn, integration.id, [c for w in written for c in w.seen])
        # Skipped rows leave the queue too: they come back when the customer changes in QBO.
        outbox.remove(conn, integration.id, job.flow,
                      [o.source_id for o in outcomes if o.status in ("loaded", "skipped")])
        conn.commit()
    return counts


def _chunks(items: list[outbox.Item], size: int) -> Iterable[list[outbox.Item]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _requests(job: Job) -> int:
    stats = getattr(job.crm, "stats", None)
    if stats is None:
        return 0
    return int(sum(v for k, v in stats.as_dict().items() if k != "throttled_s"))
