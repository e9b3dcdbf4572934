"""What the QB Connect page shows: every integration with its newest runs per flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.sql import query

RUNS_PER_FLOW = 3
# Stage and outcome counts worth a glance, in pipeline order; other numeric counts follow.
COUNT_ORDER = ("extracted", "staged_new", "staged_changed", "transformed", "to_load",
               "loaded", "skipped", "rejected", "failed", "dead")


@dataclass(frozen=True)
class RunLine:
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    dag_run_id: str | None
    counts: list[tuple[str, int]]


@dataclass
class IntegrationView:
    integration: Integration
    runs: dict[str, list[RunLine]] = field(default_factory=dict)  # flow -> newest first


def numeric_counts(counts: dict[str, Any] | None) -> list[tuple[str, int]]:
    """The run's non-zero numeric counts, known ones in pipeline order; nested or textual values and
    zeros left out (a run with nothing to do shows no counts)."""
    numbers = {k: v for k, v in (counts or {}).items()
               if isinstance(v, int | float) and not isinstance(v, bool) and v}
    ordered = [k for k in COUNT_ORDER if k in numbers] + sorted(k for k in numbers if k not in COUNT_ORDER)
    return [(k, numbers[k]) for k in ordered]


def load(url: str | None = None, runs_per_flow: int = RUNS_PER_FLOW) -> list[IntegrationView]:
    with db.connect(url) as conn:
        views = {i.id: IntegrationView(i) for i in integrations.list_all(conn)}
        rows = conn.execute(query("run_latest"), {"per_flow": runs_per_flow}).fetchall()
    for row in rows:
        view = views.get(row["integration_id"])
        if view is None:
            continue
        view.runs.setdefault(row["flow"], []).append(RunLine(
            id=row["id"], status=row["status"], started_at=row["started_at"],
            finished_at=row["finished_at"], dag_run_id=row["dag_run_id"],
            counts=numeric_counts(row["counts"]),
        ))
    return list(views.values())
