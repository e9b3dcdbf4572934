"""One-screen summaries of runs: the end of each flow's task log, and the demo's closing table."""

from __future__ import annotations

from typing import Any

from qbo_crm_sync.store import tracking
from qbo_crm_sync.store.db import Connection

STATUS_ORDER = ("loaded", "skipped", "rejected", "failed", "dead")


def run_summary(conn: Connection, run_id: int) -> dict[str, Any]:
    """The run's own counts and timings plus the row outcomes it recorded, by status and reason."""
    run = tracking.get_run(conn, run_id) or {}
    outcomes = tracking.summary(conn, run_id)
    return {
        "run_id": run_id,
        "flow": run.get("flow"),
        "integration_id": run.get("integration_id"),
        "status": run.get("status"),
        "counts": run.get("counts") or {},
        "timings": run.get("timings") or {},
        "by_status": outcomes["by_status"],
        "by_reason": outcomes["by_reason"],
    }


def run_status(summary: dict[str, Any], other_problems: int = 0) -> str:
    """``partial`` when any row failed or died, work was deferred, or the flow saw other problems
    (e.g. reconciliation mismatches); else ``success``."""
    by_status, counts = summary["by_status"], summary["counts"]
    troubled = by_status.get("failed") or by_status.get("dead") or counts.get("deferred") or other_problems
    return "partial" if troubled else "success"


def render(summary: dict[str, Any], max_reasons: int = 8) -> str:
    """A readable block: stage counts, outcomes with their reasons, timings."""
    counts = summary["counts"]
    lines = [f"run {summary['run_id']} · flow {summary['flow']} · integration {summary['integration_id']}"
             f" · {summary.get('status') or 'running'}"]
    stages = [k for k in ("extracted", "staged_new", "staged_changed", "transformed", "queued", "to_load",
                          "deferred") if k in counts]
    if stages:
        lines.append("  " + "  ".join(f"{k} {counts[k]}" for k in stages))
    for status in STATUS_ORDER:
        n = summary["by_status"].get(status, 0)
        lines.append(f"  {status:<9}{n:>7}")
        reasons = sorted(summary["by_reason"].get(status, {}).items(), key=lambda kv: -kv[1])
        for reason, k in reasons[:max_reasons] if status != "loaded" else []:
            lines.append(f"      {k:>6} × {reason or '(no reason given)'}"[:160])
        if len(reasons) > max_reasons and status != "loaded":
            lines.append(f"      … {len(reasons) - max_reasons} more reasons (sync.row_status)")
    if summary["timings"]:
        lines.append("  timings " + "  ".join(f"{k} {v}" for k, v in summary["timings"].items()))
    return "\n".join(lines)
