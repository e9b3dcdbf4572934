"""QBO customers → CRM contacts: extract → transform + validate → load → report.

Each step is ``step(job) -> counts`` (see flows/job.py) and leaves everything it learned in the
store, so the steps can run as separate Airflow tasks, be cleared and re-run in any order without
creating a contact twice:

- extract: customers created after the integration was connected and changed since the
  watermark, paged from QBO's query endpoint, upserted into ``staging.qbo_customer``; the
  watermark moves after the rows are committed.
- transform: staged rows not yet handled (or changed, or failed before) → contact payloads;
  Great Expectations rejects bad rows with reasons; a second customer with an email (or phone)
  already owned by another customer is skipped; the rest is queued in ``sync.outbox``.
- load: queued payloads upserted into the CRM (matched by email, then phone), a few at a time
  within the location's rate budget; outcomes, entity map and outbox committed in chunks.
- report: the run's one-screen summary in the task log, and the run's final status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from qbo_crm_sync.errors import ApiError, AuthError, RetryableError
from qbo_crm_sync.flows import extraction
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.hooks.quickbooks import query_time, quote
from qbo_crm_sync.store import outbox, staging, tracking
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

log = logging.getLogger(__name__)

FLOW = "contacts"
STREAM = "qbo_customer"
STAGING_TABLE = "staging.qbo_customer"
# Re-read this much before the watermark: QBO's query index lags writes by a little.
OVERLAP = timedelta(minutes=2)
LOAD_WORKERS = 4
LOAD_CHUNK = 200
# Consecutive retryable failures after which the CRM is treated as down for this run.
BREAKER = 25


def _email_key(customer: dict[str, Any]) -> str | None:
    address = (customer.get("PrimaryEmailAddr") or {}).get("Address")
    return address.strip().lower() or None if isinstance(address, str) else None


def customer_select(since: datetime, until: datetime, connected_at: datetime) -> str:
    """Customers created after connecting and changed in [since, until), inactive ones included."""
    # A QBO query, not SQL: every literal goes through quote().
    return (
        "SELECT * FROM Customer"  # noqa: S608
        f" WHERE MetaData.LastUpdatedTime >= {quote(query_time(since))}"
        f" AND MetaData.LastUpdatedTime < {quote(query_time(until))}"
        f" AND MetaData.CreateTime >= {quote(query_time(connected_at))}"
        " AND Active IN (true, false)"
        " ORDERBY MetaData.LastUpdatedTime"
    )


def _staging_row(integration_id: int, customer: dict[str, Any]) -> dict[str, Any]:
    meta = customer.get("MetaData") or {}
    return {
        "integration_id": integration_id,
        "source_id": str(customer["Id"]),
        "raw": customer,
        "display_name": customer.get("DisplayName"),
        "email": _email_key(customer),
        "created_at_source": extraction.parse_time(meta.get("CreateTime")),
        "updated_at_source": extraction.parse_time(meta.get("LastUpdatedTime")),
    }


def extract(job: Job, now: datetime | None = None) -> dict[str, Any]:
    integration = job.integration
    span = extraction.window(job, STREAM, OVERLAP, now)
    log.info("Extracting QBO customers changed in [%s, %s)", query_time(span.since), query_time(span.until))
    customers = job.qbo.query(customer_select(span.since, span.until, integration.connected_at))
    counts = extraction.stage(job, STAGING_TABLE, customers, lambda c: _staging_row(integration.id, c),
                              STREAM, span.until, noun="customers")
    return {**counts, "window_start": span.since.isoformat(), "window_end": span.until.isoformat()}


def transform(job: Job) -> dict[str, Any]:
    import pandas as pd

    from qbo_crm_sync.flows.contacts_transform import to_contacts
    from qbo_crm_sync.quality.contacts import CONTACTS_SUITE
    from qbo_crm_sync.quality.runner import validate

    integration = job.integration
    with job.connect() as conn:
        rows = staging.pending(conn, STAGING_TABLE, integration.id, FLOW)
    if not rows:
        log.info("Nothing new to transform")
        return {"transformed": 0, "rejected": 0, "skipped": 0, "queued": 0}

    frame = pd.DataFrame({
        "source_id": [r["source_id"] for r in rows],
        "raw": [r["raw"] for r in rows],
        "source_hash": [r["payload_hash"] for r in rows],
        "created_at": [r["created_at_source"] for r in rows],
    })
    source_hash = dict(zip(frame["source_id"], frame["source_hash"], strict=True))
    outcomes: list[Outcome] = []

    with job.connect() as conn:
        echoes = {r["source_id"] for r in conn.execute(query("contacts_crm_originated"), {
            "integration_id": integration.id, "source_ids": frame["source_id"].tolist(),
            "emails": [_email_key(c) for c in frame["raw"]],
        }).fetchall()}
    for sid in echoes:
        outcomes.append(Outcome(sid, "skipped", "created in QuickBooks by this integration from a CRM contact: "
                                                "already in the CRM",
                                payload_hash=source_hash[sid]))
    active = frame["raw"].map(lambda c: c.get("Active", True) is not False)
    for sid in frame.loc[~active & ~frame["source_id"].isin(echoes), "source_id"]:
        outcomes.append(Outcome(sid, "skipped", "inactive in QuickBooks", payload_hash=source_hash[sid]))
    frame = frame[active & ~frame["source_id"].isin(echoes)].sort_values(["created_at", "source_id"], kind="stable")

    contacts = to_contacts(frame, integration.location_id)
    verdicts = validate(contacts, CONTACTS_SUITE)
    for rejected in verdicts.rejected.itertuples(index=False):
        outcomes.append(Outcome(rejected.source_id, "rejected", rejected.reason,
                                payload_hash=source_hash[rejected.source_id]))

    passed = verdicts.passed
    keys = passed["email"].where(passed["email_valid"].astype("boolean").fillna(False).astype(bool), None)
    keys = keys.fillna(passed["phone"].where(passed["phone_valid"].astype("boolean").fillna(False).astype(bool)))
    passed = passed.assign(match_key=keys)

    with job.connect() as conn:
        owners = {
            r["key"]: r for r in conn.execute(query("contacts_email_owners"), {
                "integration_id": integration.id, "flow": FLOW,
                "keys": [k for k in passed["match_key"].dropna().unique().tolist()],
            }).fetchall()
        }
        queued: list[outbox.Item] = []
        first_in_batch: dict[str, str] = {}
        for row in passed.itertuples(index=False):
            key = row.match_key
            owner = owners.get(key)
            if owner is not None and owner["source_id"] != row.source_id:
                where = f"already CRM contact {owner['target_id']}" if owner["target_id"] else "queued for loading"
                outcomes.append(Outcome(row.source_id, "skipped",
                                        f"same email or phone as QBO customer {owner['source_id']} ({where})",
                                        payload_hash=source_hash[row.source_id]))
                continue
            if key in first_in_batch:
                outcomes.append(Outcome(row.source_id, "skipped",
                                        f"same email or phone as QBO customer {first_in_batch[key]} in this batch",
                                        payload_hash=source_hash[row.source_id]))
                continue
            first_in_batch[key] = row.source_id
            queued.append(outbox.Item(row.source_id, row.payload, source_hash[row.source_id], key))
        outbox.put(conn, integration.id, FLOW, job.run_id, queued)
        counts = tracking.record(conn, job.run_id, integration.id, FLOW, outcomes)
        tracking.save_validation(conn, job.run_id, CONTACTS_SUITE.name, verdicts.result)
        conn.commit()
    result = {"transformed": len(rows), "rejected": counts.get("rejected", 0),
              "skipped": counts.get("skipped", 0), "queued": len(queued)}
    log.info("Transformed %(transformed)d: %(queued)d queued, %(rejected)d rejected, %(skipped)d skipped", result)
    return result


def _upsert(job: Job, item: outbox.Item) -> Outcome:
    try:
        answer = job.crm.upsert_contact(item.payload)
    except AuthError:
        raise
    except RetryableError as exc:
        return Outcome(item.source_id, "failed", f"{type(exc).__name__}: {exc} (retried next run)",
                       payload_hash=item.payload_hash)
    except ApiError as exc:
        return Outcome(item.source_id, "failed", f"CRM refused the contact ({exc.status}): {exc}",
                       payload_hash=item.payload_hash)
    contact = answer.get("contact") or {}
    if not contact.get("id"):
        return Outcome(item.source_id, "failed", "CRM answered without a contact id", payload_hash=item.payload_hash)
    reason = "created contact" if answer.get("new") else "updated the existing contact with this email or phone"
    return Outcome(item.source_id, "loaded", reason, target_id=contact["id"], payload_hash=item.payload_hash)


def _commit(job: Job, outcomes: list[Outcome]) -> dict[str, int]:
    integration = job.integration
    loaded = [o for o in outcomes if o.status == "loaded"]
    with job.connect() as conn:
        counts = tracking.record(conn, job.run_id, integration.id, FLOW, outcomes)
        tracking.entity_map_put(conn, [{
            "integration_id": integration.id, "source_system": "quickbooks", "source_type": "customer",
            "source_id": o.source_id, "target_system": "highlevel", "target_type": "contact",
            "target_id": o.target_id, "payload_hash": o.payload_hash,
        } for o in loaded])
        outbox.remove(conn, integration.id, FLOW, [o.source_id for o in loaded])
        conn.commit()
    return counts


def _chunks(items: list[outbox.Item], size: int) -> Iterable[list[outbox.Item]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def load(job: Job) -> dict[str, Any]:
    with job.connect() as conn:
        items = outbox.waiting(conn, job.integration.id, FLOW)
    if not items:
        log.info("Nothing to load")
        return {"to_load": 0}
    log.info("Loading %d contacts into CRM location %s", len(items), job.integration.location_id)
    totals: dict[str, int] = {}
    done = consecutive_failures = 0
    deferred = 0
    with ThreadPoolExecutor(LOAD_WORKERS, thread_name_prefix="crm-load") as pool:
        for chunk in _chunks(items, LOAD_CHUNK):
            if consecutive_failures >= BREAKER:
                deferred += len(chunk)
                continue
            outcomes = list(pool.map(lambda item: _upsert(job, item), chunk))
            for o in outcomes:
                consecutive_failures = consecutive_failures + 1 if o.status == "failed" else 0
            for status, n in _commit(job, outcomes).items():
                totals[status] = totals.get(status, 0) + n
            done += len(chunk)
            log.info("… %d/%d contacts done (%s)", done, len(items), totals)
    if deferred:
        log.warning("CRM kept failing: %d contacts left queued for the next run", deferred)
    return {"to_load": len(items), "loaded": totals.get("loaded", 0), "failed": totals.get("failed", 0),
            "dead": totals.get("dead", 0), "deferred": deferred, "crm_requests": _requests(job)}


def _requests(job: Job) -> int:
    stats = getattr(job.crm, "stats", None)
    if stats is None:
        return 0
    return int(sum(v for k, v in stats.as_dict().items() if k != "throttled_s"))


def report(job: Job) -> dict[str, Any]:
    from qbo_crm_sync import reporting

    with job.connect() as conn:
        summary = reporting.run_summary(conn, job.run_id)
    by_status = summary["by_status"]
    summary["status"] = status = reporting.run_status(summary)
    log.info("Summary\n%s", reporting.render(summary))
    return {"run_status": status, **{f"rows_{k}": v for k, v in by_status.items()}}
