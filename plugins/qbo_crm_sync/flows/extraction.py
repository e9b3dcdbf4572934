"""What every flow's extract step does the same way: a time window from the stream's watermark,
source objects staged page by page (each page committed), then the watermark moved to the window's
end. The watermark never moves before the rows it covers are committed, and windows overlap on
purpose: staging upserts leave unchanged rows untouched.

A run over a past data interval (``airflow backfill create``, see runtime.past_data_interval) reads
exactly ``[data_interval_start, data_interval_end)`` instead, and moves the watermark only when that
window starts at or before it (it then continues what was read); a window further on would skip
the gap, and one behind it must not take the watermark back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store import staging, watermarks

log = logging.getLogger(__name__)

PAGE_ROWS = 1000


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time from an API answer (with its offset), or None when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def local_day(value: Any, zone: ZoneInfo) -> str | None:
    """The calendar day (ISO) of an API time in ``zone``; a plain ``YYYY-MM-DD`` is that day already.
    None when absent, unreadable, or a time without an offset (its day would be a guess)."""
    text = str(value or "").strip()
    if not text:
        return None
    if len(text) == 10:
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    stamp = parse_time(text)
    if stamp is None or stamp.tzinfo is None:
        return None
    return stamp.astimezone(zone).date().isoformat()


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime


def window(job: Job, stream: str, overlap: timedelta, now: datetime | None = None) -> Window:
    """[watermark - overlap, now) for ``stream``, never reaching back before the connection; the run's
    past data interval itself when it has one."""
    interval = job.params.get("data_interval")
    if interval is not None:
        return Window(interval[0], interval[1])
    connected = job.integration.connected_at
    with job.connect() as conn:
        mark = watermarks.get(conn, job.integration.id, stream)
    since = max((mark or connected) - overlap, connected)
    return Window(since, (now or datetime.now(UTC)).replace(microsecond=0))


def stage(
    job: Job,
    table: str,
    objects: Iterable[dict[str, Any]],
    to_row: Callable[[dict[str, Any]], dict[str, Any] | None],
    stream: str,
    until: datetime,
    noun: str = "rows",
    keep_watermark: bool = False,
) -> dict[str, int]:
    """Upsert ``to_row(obj)`` for every object (None skips it) into ``table``, a page per commit,
    then advance ``stream``'s watermark to ``until`` (``keep_watermark``: leave it where it is).
    Answers the counts for the run's summary."""
    extracted = inserted = updated = 0
    page: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal inserted, updated, page
        with job.connect() as conn:
            result = staging.upsert(conn, table, page)
            conn.commit()
        inserted, updated, page = inserted + result.inserted, updated + result.updated, []

    for obj in objects:
        row = to_row(obj)
        if row is None:
            continue
        page.append(row)
        extracted += 1
        if len(page) >= PAGE_ROWS:
            flush()
            log.info("… %d %s staged so far", extracted, noun)
    if page:
        flush()
    interval = job.params.get("data_interval")
    with job.connect() as conn:
        mark = watermarks.get(conn, job.integration.id, stream)
        if keep_watermark:
            log.info("The watermark stays at %s", mark)
        elif interval is None or (mark is not None and interval[0] <= mark):
            watermarks.advance(conn, job.integration.id, stream, until)
        else:
            log.info("Past data interval [%s, %s): the watermark stays at %s", interval[0], interval[1], mark)
        conn.commit()
    log.info("Extracted %d %s: %d new, %d changed, %d unchanged",
             extracted, noun, inserted, updated, extracted - inserted - updated)
    return {"extracted": extracted, "staged_new": inserted, "staged_changed": updated}
