"""Run bookkeeping: one row per flow run, the visible state of every source row, the entity map.

Everything here runs in the caller's transaction, so a flow can commit its outcomes together with
the entity map rows they produced.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from qbo_crm_sync.store.db import Connection
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.staging import dumps

ROW_STATUSES = ("loaded", "rejected", "failed", "dead", "skipped")
RUN_STATUSES = ("running", "success", "partial", "failed", "skipped")
MAX_ATTEMPTS = 5
BATCH_SIZE = 5000


@dataclass(frozen=True)
class RunContext:
    """Where a run comes from; outside Airflow use :meth:`manual`."""

    dag_id: str | None = None
    dag_run_id: str | None = None
    task_id: str | None = None

    @classmethod
    def manual(cls, label: str = "manual") -> RunContext:
        """A context for CLI, test or benchmark runs: each call is a new run."""
        return cls(dag_id=label, dag_run_id=f"{label}__{uuid.uuid4().hex}", task_id=None)

    @classmethod
    def from_airflow(cls, context: Mapping[str, Any]) -> RunContext:
        """From an Airflow task context (``get_current_context()`` or ``**context``)."""
        ti = context.get("ti") or context.get("task_instance")
        return cls(
            dag_id=getattr(ti, "dag_id", None),
            dag_run_id=getattr(ti, "run_id", None) or context.get("run_id"),
            task_id=getattr(ti, "task_id", None),
        )


@dataclass(frozen=True)
class Outcome:
    """What happened to one source row in one attempt."""

    source_id: str
    status: str
    reason: str | None = None
    target_id: str | None = None
    payload_hash: str | None = None


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value if value is not None else {}, dumps=dumps)


# -- runs -----------------------------------------------------------------------------------
def start_run(conn: Connection, integration_id: int, flow: str, ctx: RunContext) -> int:
    """The run id for this (dag run, integration, flow); a retried task gets the same id back."""
    row = conn.execute(
        query("run_start"),
        {
            "integration_id": integration_id,
            "flow": flow,
            "dag_id": ctx.dag_id,
            "dag_run_id": ctx.dag_run_id,
            "task_id": ctx.task_id,
        },
    ).fetchone()
    assert row is not None
    return row["id"]


def finish_run(
    conn: Connection,
    run_id: int,
    status: str,
    counts: Mapping[str, Any] | None = None,
    timings: Mapping[str, Any] | None = None,
) -> None:
    """Close a run: status is one of RUN_STATUSES; counts and timings are free-form JSON objects."""
    if status not in RUN_STATUSES:
        raise ValueError(f"run status must be one of {', '.join(RUN_STATUSES)}")
    row = conn.execute(
        query("run_finish"),
        {"run_id": run_id, "status": status, "counts": _jsonb(counts), "timings": _jsonb(timings)},
    ).fetchone()
    if row is None:
        raise LookupError(f"No run with id {run_id}")


def get_run(conn: Connection, run_id: int) -> dict[str, Any] | None:
    return conn.execute(query("run_get"), {"run_id": run_id}).fetchone()


# -- row outcomes ---------------------------------------------------------------------------
def record(
    conn: Connection,
    run_id: int | None,
    integration_id: int,
    flow: str,
    outcomes: Iterable[Outcome],
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict[str, int]:
    """Upsert row_status and append row_event for each outcome; return counts by final status.

    A failure of the same payload counts one more attempt; the one that reaches ``max_attempts``
    is stored as ``dead``. One statement per BATCH_SIZE outcomes. When a source id appears twice,
    its last outcome is the one kept.
    """
    latest: dict[str, Outcome] = {}
    for outcome in outcomes:
        if outcome.status not in ROW_STATUSES:
            raise ValueError(f"outcome status {outcome.status!r} is not one of {', '.join(ROW_STATUSES)}")
        latest[outcome.source_id] = outcome
    items = list(latest.values())
    counts: dict[str, int] = {}
    for start in range(0, len(items), BATCH_SIZE):
        batch = items[start : start + BATCH_SIZE]
        rows = conn.execute(
            query("row_record"),
            {
                "run_id": run_id,
                "integration_id": integration_id,
                "flow": flow,
                "max_attempts": max_attempts,
                "source_ids": [o.source_id for o in batch],
                "statuses": [o.status for o in batch],
                "reasons": [o.reason for o in batch],
                "target_ids": [o.target_id for o in batch],
                "payload_hashes": [o.payload_hash for o in batch],
            },
        ).fetchall()
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
    return counts


def row_status(
    conn: Connection, integration_id: int, flow: str, source_ids: Sequence[str]
) -> dict[str, dict]:
    """The current row_status rows for ``source_ids``, by source id."""
    rows = conn.execute(
        query("row_status_get"),
        {"integration_id": integration_id, "flow": flow, "source_ids": list(source_ids)},
    ).fetchall()
    return {r["source_id"]: r for r in rows}


def status_counts(conn: Connection, integration_id: int, flow: str) -> dict[str, int]:
    """How many rows of a flow are in each state right now."""
    rows = conn.execute(query("row_status_counts"), {"integration_id": integration_id, "flow": flow})
    return {r["status"]: r["n"] for r in rows.fetchall()}


def revive(
    conn: Connection,
    integration_id: int,
    flow: str,
    source_ids: Sequence[str] | None = None,
    reason: str = "revived by operator",
) -> list[str]:
    """Turn dead rows (all of the flow's, or the given ones) back into retryable failures."""
    rows = conn.execute(
        query("row_revive"),
        {
            "integration_id": integration_id,
            "flow": flow,
            "source_ids": list(source_ids) if source_ids is not None else None,
            "reason": reason,
        },
    ).fetchall()
    return [r["source_id"] for r in rows]


def summary(conn: Connection, run_id: int) -> dict[str, Any]:
    """Outcomes recorded by one run: ``{"total", "by_status": {s: n}, "by_reason": {s: {reason: n}}}``.

    Rows without a reason are counted under the empty string.
    """
    by_status: dict[str, int] = {}
    by_reason: dict[str, dict[str, int]] = {}
    for row in conn.execute(query("run_summary"), {"run_id": run_id}).fetchall():
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        by_reason.setdefault(row["status"], {})[row["reason"] or ""] = row["n"]
    return {
        "run_id": run_id,
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_reason": by_reason,
    }


# -- entity map -----------------------------------------------------------------------------
ENTITY_MAP_FIELDS = (
    "integration_id",
    "source_system",
    "source_type",
    "source_id",
    "target_system",
    "target_type",
    "target_id",
)


def entity_map_get(
    conn: Connection, integration_id: int, source_type: str, source_ids: Sequence[str], target_type: str
) -> dict[str, dict[str, Any]]:
    """Known targets for ``source_ids``, by source id (ids never mapped are absent)."""
    if not source_ids:
        return {}
    rows = conn.execute(
        query("entity_map_get"),
        {
            "integration_id": integration_id,
            "source_type": source_type,
            "target_type": target_type,
            "source_ids": list(source_ids),
        },
    ).fetchall()
    return {r["source_id"]: r for r in rows}


def entity_map_by_target(
    conn: Connection, integration_id: int, target_type: str, target_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Reverse lookup: which source objects map to each target id."""
    if not target_ids:
        return {}
    rows = conn.execute(
        query("entity_map_by_target"),
        {"integration_id": integration_id, "target_type": target_type, "target_ids": list(target_ids)},
    ).fetchall()
    found: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r["target_id"], []).append(r)
    return found


def entity_map_put(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Upsert entity map rows (ENTITY_MAP_FIELDS required; payload_hash, sync_token optional)."""
    latest: dict[tuple, Mapping[str, Any]] = {}
    for row in rows:
        missing = [f for f in ENTITY_MAP_FIELDS if row.get(f) in (None, "")]
        if missing:
            raise ValueError(f"entity map row lacks {', '.join(missing)}")
        latest[(row["integration_id"], row["source_type"], row["source_id"], row["target_type"])] = row
    items = list(latest.values())
    for start in range(0, len(items), BATCH_SIZE):
        batch = items[start : start + BATCH_SIZE]
        params = {f"{f}s": [r[f] for r in batch] for f in ENTITY_MAP_FIELDS}
        params["payload_hashes"] = [r.get("payload_hash") for r in batch]
        params["sync_tokens"] = [None if r.get("sync_token") is None else str(r["sync_token"]) for r in batch]
        conn.execute(query("entity_map_put"), params)
    return len(items)


# -- data quality ---------------------------------------------------------------------------
def save_validation(conn: Connection, run_id: int | None, suite: str, result: Any) -> int:
    """Store a Great Expectations validation result (object with ``to_json_dict`` or a dict)."""
    data = result.to_json_dict() if hasattr(result, "to_json_dict") else dict(result)
    row = conn.execute(
        query("validation_save"),
        {
            "run_id": run_id,
            "suite": suite,
            "success": bool(data.get("success")),
            "statistics": _jsonb(data.get("statistics")),
            "results": Jsonb(data.get("results") or [], dumps=dumps),
        },
    ).fetchone()
    assert row is not None
    return row["id"]
