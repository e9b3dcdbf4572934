"""Stored records: lookup, SyncToken checks, and the MetaData/SyncToken bookkeeping of a change.

Every function here expects the caller to hold ``store.lock``.
"""

from __future__ import annotations

from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.clock import meta_time, now
from emulators.quickbooks.store import Company, Record, Store

READ_ONLY = ("Id", "SyncToken", "MetaData", "domain", "sparse", "status")


def current(company: Company, entity: str, entity_id: Any) -> Record:
    record = company.live(entity, entity_id) if entity_id is not None else None
    if record is None:
        raise faults.object_not_found(entity, str(entity_id))
    return record


def check_sync_token(entity: str, record: Record, payload: dict[str, Any]) -> None:
    token = payload.get("SyncToken")
    if token is None:
        raise faults.required("SyncToken")
    if str(token) != record.body["SyncToken"]:
        raise faults.stale(entity)


def stamp(body: dict[str, Any], created: int, updated: int) -> None:
    body["MetaData"] = {"CreateTime": meta_time(created), "LastUpdatedTime": meta_time(updated)}


def ordered(body: dict[str, Any]) -> dict[str, Any]:
    """QBO's habit: domain, sparse, Id, SyncToken, MetaData first, then the rest."""
    head = {
        "domain": "QBO",
        "sparse": False,
        "Id": body["Id"],
        "SyncToken": body["SyncToken"],
        "MetaData": body["MetaData"],
    }
    return head | {k: v for k, v in body.items() if k not in head}


def bump(store: Store, record: Record, body: dict[str, Any]) -> None:
    """Store ``body`` as the record's next version: SyncToken + 1, LastUpdatedTime now."""
    ts = int(now())
    body["SyncToken"] = str(int(record.body["SyncToken"]) + 1)
    stamp(body, record.created, ts)
    record.body = body
    record.updated = ts
    record.seq = store.next_seq()
