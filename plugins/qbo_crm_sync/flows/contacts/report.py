"""Report: the run's one-screen summary in the task log, and the run's final status."""

from __future__ import annotations

import logging
from typing import Any

from qbo_crm_sync.flows.job import Job

log = logging.getLogger(__name__)


def report(job: Job) -> dict[str, Any]:
    from qbo_crm_sync import reporting

    with job.connect() as conn:
        summary = reporting.run_summary(conn, job.run_id)
    by_status = summary["by_status"]
    summary["status"] = status = reporting.run_status(summary)
    log.info("Summary\n%s", reporting.render(summary))
    return {"run_status": status, **{f"rows_{k}": v for k, v in by_status.items()}}
