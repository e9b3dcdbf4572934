"""QBO speaks Pacific time: MetaData times and the ``time`` of every answer carry the -08:00/-07:00 offset."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


def now() -> float:
    return time.time()


def meta_time(ts: float) -> str:
    """MetaData.CreateTime / LastUpdatedTime: whole seconds, e.g. 2026-11-29T03:14:15-08:00."""
    return datetime.fromtimestamp(int(ts), PACIFIC).isoformat()


def response_time(ts: float | None = None) -> str:
    """The ``time`` of an answer: milliseconds, e.g. 2026-11-29T03:14:15.123-08:00."""
    return datetime.fromtimestamp(now() if ts is None else ts, PACIFIC).isoformat(timespec="milliseconds")


def txn_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, PACIFIC).date().isoformat()


def parse_instant(text: str) -> float:
    """An ISO-8601 date or date-time as a unix time; without an offset it is read as Pacific time."""
    text = text.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=PACIFIC).timestamp()
    dt = datetime.fromisoformat(text.replace(" ", "T"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=PACIFIC)
    return dt.timestamp()
