"""Generic staging: upsert raw source objects (plus typed columns) by natural key.

Every staging table (one migration each, see 0002_staging_qbo_customer.sql) has
``integration_id``, ``source_id``, ``raw`` jsonb, ``payload_hash``, ``staged_at`` and any typed
columns; :func:`upsert` discovers the columns from the catalogue, so a new source needs a
migration and no new Python.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import sql

from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import compose, identifiers, query, table_identifier

SCHEMA = "staging"
DEFAULT_KEY = ("integration_id", "source_id")
_INPUT = sql.Identifier("staging_upsert_input")


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    updated: int
    unchanged: int

    @property
    def changed(self) -> int:
        return self.inserted + self.updated


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal | datetime):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces; Decimal and datetime as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def payload_hash(raw: Any) -> str:
    """Stable hash of a source object, independent of key order."""
    return hashlib.sha256(dumps(raw).encode("utf-8")).hexdigest()


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema or SCHEMA, name


def table_columns(conn: Connection, table: str) -> list[str]:
    schema, name = _split(table)
    rows = conn.execute(query("staging_columns"), {"schema": schema, "table": name}).fetchall()
    if not rows:
        raise ValueError(f"No table {schema}.{name}: is its migration applied?")
    return [r["column_name"] for r in rows]


def _prepare(rows: Iterable[Mapping[str, Any]], key: Sequence[str]) -> tuple[list[str], list[list[Any]]]:
    """Column list and value rows: payload_hash filled from raw when missing, last duplicate key wins.

    JSON values are serialised here, once, and sent as text (COPY parses them into jsonb); the
    same text feeds the hash.
    """
    columns: list[str] | None = None
    by_key: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        if columns is None:
            columns = [c for c in row if c != "staged_at"]
            if "payload_hash" not in columns:
                columns.append("payload_hash")
            missing = [k for k in (*key, "raw") if k not in columns]
            if missing:
                raise ValueError(f"Staging rows need {', '.join(missing)}")
        elif any(c not in row for c in columns if c != "payload_hash") or any(
            c not in columns and c != "staged_at" for c in row
        ):
            raise ValueError("All staging rows in one upsert must have the same keys")
        values = [dumps(row[c]) if isinstance(row.get(c), dict | list) else row.get(c) for c in columns]
        hash_at = columns.index("payload_hash")
        if values[hash_at] is None:
            # Same result as payload_hash(row["raw"]) without serialising raw a second time.
            text = values[columns.index("raw")] if isinstance(row["raw"], dict | list) else dumps(row["raw"])
            values[hash_at] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        by_key[tuple(row[k] for k in key)] = values
    return columns or [], list(by_key.values())


def upsert(
    conn: Connection,
    table: str,
    rows: Iterable[Mapping[str, Any]],
    key: Sequence[str] = DEFAULT_KEY,
) -> UpsertResult:
    """Insert new rows, update rows whose payload_hash changed, leave the rest untouched.

    ``table`` is ``name`` (in schema staging) or ``schema.name``; each row maps column names to
    values (dicts and lists go to jsonb). ``payload_hash`` defaults to :func:`payload_hash` of
    ``raw``. Rows are copied into a temporary table and merged by one INSERT ... ON CONFLICT on
    ``key``, inside a transaction (a savepoint when the caller already has one open).
    """
    columns, values = _prepare(rows, key)
    if not values:
        return UpsertResult(0, 0, 0)
    known = set(table_columns(conn, table))
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ValueError(f"{table} has no column(s) {', '.join(unknown)}; it has {', '.join(sorted(known))}")
    target = table_identifier(table, SCHEMA)
    updates = [c for c in columns if c not in key]
    with conn.transaction():
        conn.execute(compose("staging_drop_input", input=_INPUT))
        conn.execute(compose("staging_create_input", input=_INPUT, table=target))
        with conn.cursor() as cur:
            with cur.copy(compose("staging_copy_input", input=_INPUT, columns=identifiers(columns))) as copy:
                for value_row in values:
                    copy.write_row(value_row)
            counts = cur.execute(
                compose(
                    "staging_merge",
                    table=target,
                    input=_INPUT,
                    columns=identifiers(columns),
                    key=identifiers(tuple(key)),
                    updates=identifiers(updates),
                    excluded=sql.SQL(", ").join(sql.Identifier("excluded", c) for c in updates),
                )
            ).fetchone()
        conn.execute(compose("staging_drop_input", input=_INPUT))
    assert counts is not None
    inserted, updated = counts["inserted"], counts["updated"]
    return UpsertResult(inserted, updated, len(values) - inserted - updated)


def pending(
    conn: Connection, table: str, integration_id: int, flow: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Staged rows ``flow`` should (re)process, with ``last_status``/``last_attempts``/``last_reason``.

    That is rows with no outcome yet, rows whose payload_hash differs from the one recorded with
    their last outcome (so changed rejected or dead rows get another chance), and failed rows.
    Dead rows with an unchanged payload stay out until a person revives them
    (:func:`qbo_crm_sync.store.tracking.revive`).
    """
    cur = conn.execute(
        compose("staging_pending", table=table_identifier(table, SCHEMA)),
        {"integration_id": integration_id, "flow": flow, "limit": limit},
    )
    return list(cur.fetchall())


def changed_since(conn: Connection, table: str, integration_id: int, since: datetime) -> list[dict[str, Any]]:
    """Rows inserted or changed at or after ``since`` (by staged_at)."""
    cur = conn.execute(
        compose("staging_changed_since", table=table_identifier(table, SCHEMA)),
        {"integration_id": integration_id, "since": since},
    )
    return list(cur.fetchall())
