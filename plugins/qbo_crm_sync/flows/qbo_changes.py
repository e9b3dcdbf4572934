"""What changed in a QBO company since an instant: one CDC call, or a paged query where CDC cannot.

QBO's change data capture (``/cdc``) answers every object of the named entities changed since an
instant, deleted ones too (as ``{"status": "Deleted", "Id": …}``), in one metered read. It has two
limits: it reaches back 30 days at most, and it answers at most 1,000 objects in all, without
paging, so an answer at the cap may have left changes out. At either limit the same changes are
read with a paged query per entity instead (``MetaData.LastUpdatedTime >= since``, 1,000 a page,
no age limit), which sees every object changed since but no deletion.

A past range (``changed_between``: a run over a past data interval) is always read by query, with
both bounds: CDC has no upper bound, so it would answer everything changed since the range began.

Shared by the mirrors kept current from QBO: the customers (flows/qbo_customers.py) and the
invoices and payments of the review requests (flows/reviews/extract.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_crm_sync.flows.job import Job

log = logging.getLogger(__name__)

CDC_MAX_OBJECTS = 1000
# QBO refuses a changedSince more than 30 days back; a day of margin for clocks and time zones.
CDC_MAX_AGE = timedelta(days=29)


@dataclass(frozen=True)
class Changes:
    how: str  # "cdc" or "query"
    rows: dict[str, list[dict[str, Any]]]  # entity -> objects changed (CDC: deleted ones as tombstones)

    def count(self) -> int:
        return sum(len(v) for v in self.rows.values())


def is_deleted(obj: Mapping[str, Any]) -> bool:
    """A CDC tombstone: the object was deleted in QBO."""
    return str(obj.get("status") or "").lower() == "deleted"


def changed_select(entity: str, since: datetime, where: str | None = None, until: datetime | None = None) -> str:
    """The paged query that reads ``entity``'s objects changed at or after ``since`` (and before
    ``until`` when given)."""
    from qbo_crm_sync.hooks.quickbooks import query_time, quote

    # A QBO query, not SQL: the literals go through quote().
    return (f"SELECT * FROM {entity}"  # noqa: S608
            f" WHERE MetaData.LastUpdatedTime >= {quote(query_time(since))}"
            + (f" AND MetaData.LastUpdatedTime < {quote(query_time(until))}" if until else "")
            + (f" AND {where}" if where else "")
            + " ORDERBY MetaData.LastUpdatedTime")


def changed_since(job: Job, entities: Sequence[str], since: datetime,
                  where: Mapping[str, str] | None = None, now: datetime | None = None) -> Changes:
    """Objects of ``entities`` changed at or after ``since``: one CDC call when ``since`` is within
    CDC's reach and the answer stays under its cap, else one paged query per entity (``where`` adds
    a condition per entity, e.g. ``Active IN (true, false)`` for customers)."""
    where = where or {}
    now = now or datetime.now(UTC)
    if now - since <= CDC_MAX_AGE:
        found = job.qbo.cdc(list(entities), since)
        rows = {e: list(found.get(e) or []) for e in entities}
        total = sum(len(v) for v in rows.values())
        if total < CDC_MAX_OBJECTS:
            return Changes("cdc", rows)
        log.info("CDC answered %d objects, its cap: reading the same changes by query", total)
    else:
        log.info("Changes since %s are older than CDC reaches: reading them by query", since.isoformat())
    return Changes("query", {e: list(job.qbo.query(changed_select(e, since, where.get(e)))) for e in entities})


def changed_between(job: Job, entities: Sequence[str], since: datetime, until: datetime,
                    where: Mapping[str, str] | None = None) -> Changes:
    """Objects of ``entities`` changed in ``[since, until)``, one paged query per entity (no
    deletions: a query does not show deleted objects)."""
    where = where or {}
    return Changes("query", {e: list(job.qbo.query(changed_select(e, since, where.get(e), until)))
                             for e in entities})
