"""DAG ``contacts_csv_backfill``: a CSV of QuickBooks customers → CRM contacts (steps for runtime.run_step).

``check`` finds the file in the import folder and reads it once through (header, encoding,
structure, row count), so a file that cannot be read fails there, before anything is written;
``load`` runs the backfill (engine.py) from where the last run of the same file stopped; ``report``
logs the backfill's standing. The trigger form's values arrive as ``job.params`` (dags/…).
"""

from __future__ import annotations

import logging
from typing import Any

from qbo_crm_sync import config
from qbo_crm_sync.flows.backfill import engine
from qbo_crm_sync.flows.backfill.budget import BudgetRules
from qbo_crm_sync.flows.backfill.csv_fields import SeenIds, to_rows
from qbo_crm_sync.flows.backfill.csv_reader import Scan, inspect, read_chunks, scan
from qbo_crm_sync.flows.backfill.paths import resolve_import
from qbo_crm_sync.flows.backfill.state import latest
from qbo_crm_sync.flows.job import Job

log = logging.getLogger(__name__)

FLOW = "contacts_csv_backfill"
DEFAULT_CHUNK = 5_000


def options(params: dict[str, Any]) -> engine.Options:
    return engine.Options(
        dry_run=bool(params.get("dry_run", True)),
        keep_inactive=params.get("customers", "all") == "all",
        rules=BudgetRules(burst_share=float(params.get("burst_share", 0.5)),
                          daily_reserve=int(params.get("daily_reserve", 20_000))),
    )


def read_file(job: Job) -> Scan:
    path = resolve_import(str(job.params.get("csv_file") or ""), config.import_dir())
    layout = inspect(path, str(job.params.get("encoding") or "auto"))
    return scan(layout)


def check(job: Job) -> dict[str, Any]:
    found = read_file(job)
    layout = found.layout
    log.info("%s: %d customer rows, %s, %s, delimiter %r, header on line %d; reads %s%s", layout.path.name,
             found.rows, layout.shape, layout.encoding_name, layout.delimiter, layout.header_line,
             ", ".join(f"{layout.header[i]} as {f}" for f, i in layout.columns.items()),
             f"; ignores {', '.join(layout.ignored)}" if layout.ignored else "")
    return {"file": layout.path.name, "rows_total": found.rows, "bytes": found.size, "shape": layout.shape,
            "encoding": layout.encoding_name, "delimiter": layout.delimiter}


def source(job: Job, found: Scan, chunk_rows: int) -> engine.Source:
    layout = found.layout
    root = config.import_dir().resolve()
    label = str(layout.path.relative_to(root)) if layout.path.is_relative_to(root) else layout.path.name

    def batches(position: dict[str, Any] | None) -> Any:
        seen = SeenIds()
        offset, line = (position["offset"], position["line"]) if position else (None, None)
        for raw in read_chunks(layout, chunk_rows, offset, line):
            rows = to_rows(raw, layout, seen)
            line_of = dict(zip(rows.frame["source_id"], rows.frame["line"], strict=True))

            def cells(sid: str, line_of: dict = line_of, kept: dict = rows.cells) -> list[str]:
                number = int(line_of.get(sid, 0))
                return [str(number), *kept.get(number, [sid])]

            yield engine.Batch(
                frame=rows.frame.drop(columns=["line"]), rows=None,
                position={"offset": raw.end_offset, "line": raw.end_line}, rows_read=len(raw.records),
                repeats=[([str(n), *rows.cells.get(n, [])], reason) for n, _, reason in rows.repeats],
                cells=cells)

    description = {"label": label, "kind": "csv", "bytes": found.size, "sha256": found.fingerprint,
                   "shape": layout.shape, "encoding": layout.encoding_name, "delimiter": layout.delimiter,
                   "header_line": layout.header_line,
                   "columns": {f: layout.header[i] for f, i in layout.columns.items()}, "ignored": list(layout.ignored)}
    return engine.Source(key=f"csv:{found.fingerprint}", description=description, rows_total=found.rows,
                         reject_header=["line", *layout.header], batches=batches)


def load(job: Job) -> dict[str, Any]:
    found = read_file(job)
    chunk = int(job.params.get("chunk_size") or DEFAULT_CHUNK)
    summary = engine.run(job, source(job, found, chunk), options(job.params))
    return _counts(summary)


def report(job: Job) -> dict[str, Any]:
    return standing(job)


def standing(job: Job) -> dict[str, Any]:
    """The latest backfill of this flow for the integration, as a person asks "when will it finish?"."""
    rows = latest(job, job.flow, limit=1)
    if not rows:
        log.info("No backfill of %s has run for integration %s yet (dry runs keep no standing)", job.flow,
                 job.integration.id)
        return {"run_status": "success"}
    b = rows[0]
    log.info("Backfill %s of %s: %s%s; %s of %s rows done, %s CRM requests; finishes %s%s", b["id"],
             b["source"].get("label"), b["status"], f" ({b['status_reason']})" if b["status_reason"] else "",
             b["rows_done"], b["rows_total"], b["crm_requests"], b["eta"] or "?",
             f"; resumes after {b['resume_at']}" if b["resume_at"] else "")
    return {"run_status": "success", "backfill_status": b["status"], "rows_done": b["rows_done"],
            "rows_total": b["rows_total"], "eta": b["eta"].isoformat() if b["eta"] else None,
            "resume_at": b["resume_at"].isoformat() if b["resume_at"] else None}


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    keep = ("status", "status_reason", "rows_total", "rows_done", "crm_requests_this_run", "eta", "resume_at",
            "would_create", "would_update", "would_skip_at_load", "crm_requests_needed", "rejected_rows",
            "rejected_file", "created", "updated")
    return {**{k: summary[k] for k in keep if k in summary}, **{f"rows_{k}": v for k, v in summary["counts"].items()}}
