"""Watermarks: how far each extract stream of an integration has read.

Callers advance a watermark only after the rows it covers are staged, in the same transaction
when they can, so a crash re-reads an overlapping window instead of skipping one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query


@dataclass(frozen=True)
class Watermark:
    value: datetime | None
    state: dict[str, Any]
    updated_at: datetime


def read(conn: Connection, integration_id: int, stream: str) -> Watermark | None:
    """The stored watermark with its state, or None when the stream never ran."""
    row = conn.execute(
        query("watermark_get"), {"integration_id": integration_id, "stream": stream}
    ).fetchone()
    return Watermark(row["value"], row["state"] or {}, row["updated_at"]) if row else None


def get(conn: Connection, integration_id: int, stream: str) -> datetime | None:
    """The stream's watermark, or None when it never ran."""
    found = read(conn, integration_id, stream)
    return found.value if found else None


def get_state(conn: Connection, integration_id: int, stream: str) -> dict[str, Any]:
    """Extra state kept beside the watermark (e.g. ids already seen at that instant); {} if none."""
    found = read(conn, integration_id, stream)
    return found.state if found else {}


def advance(
    conn: Connection,
    integration_id: int,
    stream: str,
    value: datetime,
    state: dict[str, Any] | None = None,
    *,
    force: bool = False,
) -> datetime:
    """Move the watermark to ``value`` unless it is already later (``force`` moves it anyway).

    Returns the value now stored, which is the later of the two when not forced.
    """
    if value.tzinfo is None:
        raise ValueError("watermark values must be timezone-aware")
    row = conn.execute(
        query("watermark_advance"),
        {
            "integration_id": integration_id,
            "stream": stream,
            "value": value,
            "state": Jsonb(state) if state is not None else None,
            "force": force,
        },
    ).fetchone()
    assert row is not None
    return row["value"]
