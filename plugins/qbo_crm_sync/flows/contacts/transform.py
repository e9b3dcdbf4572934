"""Transform + validate: staged QBO customers → checked contact payloads queued in ``sync.outbox``.

:func:`transform_customers` takes any batch of customer rows (the scheduled step hands it the staged
rows not yet handled, changed, or failed before; a backfill can hand it its own). Customers this
integration created itself from CRM contacts are skipped (they came from the CRM), inactive ones
too; Great Expectations rejects bad rows with reasons; a second customer with an email (or, without
one, a phone) already loaded or queued for another customer is skipped; the rest is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qbo_crm_sync.flows.contacts.extract import STAGING_TABLE, email_key
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store import outbox, staging, tracking
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.tracking import Outcome

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

ECHO = "created in QuickBooks by this integration from a CRM contact: already in the CRM"


def transform(job: Job) -> dict[str, Any]:
    with job.connect() as conn:
        rows = staging.pending(conn, STAGING_TABLE, job.integration.id, job.flow)
    if not rows:
        log.info("Nothing new to transform")
        return {"transformed": 0, "rejected": 0, "skipped": 0, "queued": 0}
    return transform_customers(job, rows)


def transform_customers(job: Job, rows: Sequence[dict[str, Any]] | pd.DataFrame, *,
                        keep_inactive: bool = False) -> dict[str, Any]:
    """Turn customer rows (``source_id``, ``raw`` QBO Customer as a dict or JSON text, ``payload_hash``
    of the source row, optional ``created_at_source``) into queued contact payloads under the job's
    flow; record why any is not queued. Leaving out rows already handled in the same version is the
    caller's part (the scheduled step reads its rows with ``staging.pending``).

    ``rows`` may also be a DataFrame holding, instead of ``raw``, the flat columns of
    ``contacts_transform.CUSTOMER_FIELDS`` and an optional boolean ``Active`` (a CSV reader's form).
    Without ``created_at_source`` the frame's own order decides which of two customers sharing an
    email comes first. ``keep_inactive`` writes inactive customers too (a backfill asked for them)."""
    import pandas as pd

    from qbo_crm_sync.flows.contacts_transform import to_contacts
    from qbo_crm_sync.quality.contacts import CONTACTS_SUITE
    from qbo_crm_sync.quality.runner import validate

    integration = job.integration
    if isinstance(rows, pd.DataFrame):
        frame = rows.rename(columns={"payload_hash": "source_hash", "created_at_source": "created_at"})
        frame = frame.assign(source_id=frame["source_id"].astype(str))
        ordered = "created_at" not in frame  # without creation times, the caller's order counts
        emails = frame.get("PrimaryEmailAddr.Address", pd.Series(None, index=frame.index, dtype=object))
        emails = [e.strip().lower() or None if isinstance(e, str) else None for e in emails]
        active = (frame["Active"].map(lambda a: a is not False) if "Active" in frame
                  else pd.Series(True, index=frame.index))
    else:
        frame = pd.DataFrame({
            "source_id": [str(r["source_id"]) for r in rows],
            "raw": [r["raw"] for r in rows],
            "source_hash": [r["payload_hash"] for r in rows],
            "created_at": [r.get("created_at_source") for r in rows],
        })
        emails = [email_key(c) if isinstance(c, dict) else None for c in frame["raw"]]
        active = frame["raw"].map(lambda c: not isinstance(c, dict) or c.get("Active", True) is not False)
        ordered = False
    source_hash = dict(zip(frame["source_id"], frame["source_hash"], strict=True))
    outcomes: list[Outcome] = []

    with job.connect() as conn:
        echoes = {r["source_id"] for r in conn.execute(query("contacts_crm_originated"), {
            "integration_id": integration.id, "source_ids": frame["source_id"].tolist(), "emails": emails,
        }).fetchall()}
    for sid in echoes:
        outcomes.append(Outcome(sid, "skipped", ECHO, payload_hash=source_hash[sid]))
    if keep_inactive:
        active = pd.Series(True, index=frame.index)
    for sid in frame.loc[~active & ~frame["source_id"].isin(echoes), "source_id"]:
        outcomes.append(Outcome(sid, "skipped", "inactive in QuickBooks", payload_hash=source_hash[sid]))
    frame = frame[active & ~frame["source_id"].isin(echoes)]
    if not ordered:
        frame = frame.sort_values(["created_at", "source_id"], kind="stable")

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
                "integration_id": integration.id, "flow": job.flow,
                "keys": passed["match_key"].dropna().unique().tolist(),
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
        outbox.put(conn, integration.id, job.flow, job.run_id, queued)
        counts = tracking.record(conn, job.run_id, integration.id, job.flow, outcomes)
        tracking.save_validation(conn, job.run_id, CONTACTS_SUITE.name, verdicts.result)
        conn.commit()
    result = {"transformed": len(rows), "rejected": counts.get("rejected", 0),
              "skipped": counts.get("skipped", 0), "queued": len(queued)}
    log.info("Transformed %(transformed)d: %(queued)d queued, %(rejected)d rejected, %(skipped)d skipped", result)
    return result
