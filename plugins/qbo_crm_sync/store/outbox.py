"""The outbox: validated target payloads between a flow's transform and load steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.staging import dumps


@dataclass(frozen=True)
class Item:
    source_id: str
    payload: dict[str, Any]
    payload_hash: str
    match_key: str | None = None


def put(conn: Connection, integration_id: int, flow: str, run_id: int | None, items: Iterable[Item]) -> int:
    """Queue payloads (a newer payload for the same source row replaces the queued one)."""
    rows = list({i.source_id: i for i in items}.values())
    if rows:
        conn.execute(query("outbox_put"), {
            "integration_id": integration_id, "flow": flow, "run_id": run_id,
            "source_ids": [i.source_id for i in rows],
            "payloads": [Jsonb(i.payload, dumps=dumps) for i in rows],
            "payload_hashes": [i.payload_hash for i in rows],
            "match_keys": [i.match_key for i in rows],
        })
    return len(rows)


def waiting(conn: Connection, integration_id: int, flow: str, limit: int | None = None) -> list[Item]:
    """Payloads to load, oldest first (dead rows excluded until their source changes)."""
    cur = conn.execute(query("outbox_get"), {"integration_id": integration_id, "flow": flow, "limit": limit})
    return [Item(r["source_id"], r["payload"], r["payload_hash"], r["match_key"]) for r in cur.fetchall()]


def remove(conn: Connection, integration_id: int, flow: str, source_ids: Sequence[str]) -> None:
    if source_ids:
        conn.execute(query("outbox_delete"),
                     {"integration_id": integration_id, "flow": flow, "source_ids": list(source_ids)})
