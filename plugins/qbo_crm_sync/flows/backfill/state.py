"""A backfill's row in ``sync.backfill``: where it stands, so a stopped run resumes there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store.sql import query
from qbo_crm_sync.store.staging import dumps


@dataclass
class BackfillState:
    id: int
    source_key: str
    rows_total: int | None
    rows_done: int = 0
    position: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    crm_requests: int = 0
    status: str = "running"
    status_reason: str | None = None
    eta: datetime | None = None
    resume_at: datetime | None = None

    @property
    def resuming(self) -> bool:
        return bool(self.position)

    def add(self, counts: dict[str, int]) -> None:
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + int(n)


def open_state(job: Job, source_key: str, source: dict[str, Any], rows_total: int | None) -> BackfillState:
    """This source's backfill, created on first sight; a finished one starts over from the top."""
    with job.connect() as conn:
        row = conn.execute(query("backfill_open"), {
            "integration_id": job.integration.id, "flow": job.flow, "source_key": source_key,
            "source": Jsonb(source, dumps=dumps), "rows_total": rows_total, "run_id": job.run_id,
        }).fetchone()
        conn.commit()
    assert row is not None
    return BackfillState(row["id"], source_key, row["rows_total"], row["rows_done"], dict(row["position"] or {}),
                         dict(row["counts"] or {}), row["crm_requests"])


def save_state(job: Job, state: BackfillState) -> None:
    with job.connect() as conn:
        conn.execute(query("backfill_save"), {
            "id": state.id, "status": state.status, "status_reason": state.status_reason,
            "rows_done": state.rows_done, "position": Jsonb(state.position, dumps=dumps),
            "counts": Jsonb(state.counts, dumps=dumps), "crm_requests": state.crm_requests,
            "eta": state.eta, "resume_at": state.resume_at,
        })
        conn.commit()


def latest(job: Job, flow: str | None = None, limit: int = 5) -> list[dict[str, Any]]:
    with job.connect() as conn:
        return conn.execute(query("backfill_status"), {"integration_id": job.integration.id, "flow": flow,
                                                       "limit": limit}).fetchall()
