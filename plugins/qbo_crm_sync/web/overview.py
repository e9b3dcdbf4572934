"""What the QB Connect page shows: every integration with its newest runs per flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.sql import query

RUNS_PER_FLOW = 3
# Stage and outcome counts worth a glance, in pipeline order; other numeric counts follow.
COUNT_ORDER = ("extracted", "staged_new", "staged_changed", "transformed", "to_load",
               "loaded", "skipped", "rejected", "failed", "dead")
# A flow's report step counts the run's row outcomes as rows_<status>; the load step counted some of
# the same outcomes itself. The report's count is the run's whole story: it replaces the step's.
OUTCOME_PREFIX = "rows_"


@dataclass(frozen=True)
class RunLine:
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    dag_id: str | None
    dag_run_id: str | None
    from_airflow: bool
    counts: list[tuple[str, int]]

    def airflow_url(self, airflow_base: str) -> str | None:
        """The run's page in the Airflow UI, for runs an Airflow task made."""
        if not (self.from_airflow and self.dag_id and self.dag_run_id):
            return None
        return (f"{airflow_base.rstrip('/')}/dags/{quote(self.dag_id, safe='')}"
                f"/runs/{quote(self.dag_run_id, safe='')}")


@dataclass
class IntegrationView:
    integration: Integration
    runs: dict[str, list[RunLine]] = field(default_factory=dict)  # flow -> newest first


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numeric_counts(counts: dict[str, Any] | None) -> list[tuple[str, int]]:
    """The run's non-zero numeric counts, each once: known ones in pipeline order, then the rest;
    nested or textual values and zeros left out (a run with nothing to do shows no counts)."""
    numbers = {k: v for k, v in (counts or {}).items() if _is_number(v)}
    outcomes = {k.removeprefix(OUTCOME_PREFIX): v for k, v in numbers.items() if k.startswith(OUTCOME_PREFIX)}
    merged = {k: v for k, v in numbers.items() if not k.startswith(OUTCOME_PREFIX)} | outcomes
    shown = {k: v for k, v in merged.items() if v}
    ordered = [k for k in COUNT_ORDER if k in shown] + sorted(k for k in shown if k not in COUNT_ORDER)
    return [(k, shown[k]) for k in ordered]


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
            finished_at=row["finished_at"], dag_id=row["dag_id"], dag_run_id=row["dag_run_id"],
            # Runs outside Airflow (CLI, tests, benchmark) have no task and no Airflow page.
            from_airflow=row["task_id"] is not None, counts=numeric_counts(row["counts"]),
        ))
    return list(views.values())
