"""Review requests, report: the run's summary, and the integration's requests by state."""

from __future__ import annotations

import logging
from typing import Any

from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)


def report(job: Job) -> dict[str, Any]:
    from qbo_crm_sync import reporting

    with job.connect() as conn:
        summary = reporting.run_summary(conn, job.run_id)
        requests = conn.execute(query("reviews_requests_summary"), {"integration_id": job.integration.id}).fetchall()
    by_state: dict[str, int] = {}
    for r in requests:
        by_state[r["state"]] = by_state.get(r["state"], 0) + r["n"]
    in_doubt = by_state.get("sending", 0)
    summary["status"] = status = reporting.run_status(summary, other_problems=in_doubt)
    lines = [f"    {r['state']:<12} {r['channel']:<6} {r['n']:>6}" for r in requests] or ["    none yet"]
    log.info("Summary\n%s\n  review requests of this integration, ever (state, channel):\n%s",
             reporting.render(summary), "\n".join(lines))
    return {"run_status": status, "review_requests": by_state,
            **{f"rows_{k}": v for k, v in summary["by_status"].items()}}
