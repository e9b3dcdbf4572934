"""The backfill loop shared by the CSV import and the historical pull: chunks of customer rows go
through the contacts flow's own transform, checks and load, within the CRM's budget.

For each chunk: rows recorded before with the same content are skipped as unchanged (no request);
the rest go to ``contacts.transform_customers`` under the backfill's flow name (checked, rejected
with reasons, queued); then the queue is written by ``contacts.write_contacts`` in slices the daily
budget allows (budget.py). The position after each chunk is saved (state.py), so a stopped run
resumes at the next chunk, and whatever was queued but not written goes first. Rows not loaded go
to the run's ``rejected.csv`` (report.py).

A **dry run** sends nothing to the CRM, not even a read: rows are checked and queued under
``<flow>.dry_run`` (a queue that is never loaded, emptied before and after), and each queued
contact is planned against the contact mirror as it stands in the store, so the report tells how
many contacts would be created, updated or skipped, what that costs, and how long it would take.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from qbo_crm_sync.errors import AuthError
from qbo_crm_sync.flows.backfill import budget as budgets
from qbo_crm_sync.flows.backfill.budget import BudgetRules
from qbo_crm_sync.flows.backfill.report import RunReport, run_folder
from qbo_crm_sync.flows.backfill.state import BackfillState, open_state, save_state
from qbo_crm_sync.flows.job import Job
from qbo_crm_sync.store import outbox, tracking
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)

UNCHANGED_STATUSES = frozenset({"loaded", "skipped", "rejected", "dead"})
DRY_SUFFIX = ".dry_run"


@dataclass
class Batch:
    """One chunk of customer rows in a form ``transform_customers`` takes, with where the source
    stands after it."""

    frame: pd.DataFrame | None  # flat columns (CSV), or None when ``rows`` holds QBO objects
    rows: list[dict[str, Any]] | None
    position: dict[str, Any]
    rows_read: int
    repeats: list[tuple[list[str], str]] = field(default_factory=list)  # (cells, reason) of repeated rows
    cells: Callable[[str], list[str]] = lambda sid: [sid]  # a row's cells for rejected.csv

    def source_ids(self) -> list[str]:
        if self.frame is not None:
            return self.frame["source_id"].astype(str).tolist()
        return [str(r["source_id"]) for r in self.rows or []]

    def hashes(self) -> dict[str, str]:
        if self.frame is not None:
            return dict(zip(self.frame["source_id"].astype(str), self.frame["payload_hash"], strict=True))
        return {str(r["source_id"]): r["payload_hash"] for r in self.rows or []}

    def keep(self, source_ids: set[str]) -> pd.DataFrame | list[dict[str, Any]]:
        if self.frame is not None:
            return self.frame[self.frame["source_id"].isin(source_ids)].reset_index(drop=True)
        return [r for r in self.rows or [] if str(r["source_id"]) in source_ids]


@dataclass
class Source:
    """What a backfill reads: a key naming it for resumption, a description, its size when known,
    the header of its rejected rows, and its chunks from a saved position."""

    key: str
    description: dict[str, Any]
    rows_total: int | None
    reject_header: list[str]
    batches: Callable[[dict[str, Any] | None], Iterator[Batch]]


@dataclass(frozen=True)
class Options:
    dry_run: bool = True
    keep_inactive: bool = False
    rules: BudgetRules = field(default_factory=BudgetRules)


@dataclass
class _Progress:
    started: float = field(default_factory=time.monotonic)
    rows: int = 0
    requests: int = 0
    write_seconds: float = 0.0


def run(job: Job, source: Source, options: Options) -> dict[str, Any]:
    """Take ``source`` as far as the budget allows; answer the run's counts (``status`` is ``done``,
    ``paused`` or ``dry_run``)."""
    from qbo_crm_sync.flows import contacts

    dry = options.dry_run
    work = replace(job, flow=job.flow + DRY_SUFFIX) if dry else job
    report = RunReport(run_folder(job), source.reject_header)
    state = None if dry else open_state(job, source.key, source.description, source.rows_total)
    totals: dict[str, int] = {}
    plans: dict[str, int] = {}
    progress = _Progress()
    hook = None
    if dry:
        _clear_queue(work)
    else:
        hook = budgets.share_the_burst(job, options.rules)
    position = state.position if state and state.resuming else None
    if state and state.resuming:
        log.info("Resuming %s at %s: %d of %s rows were done before", source.key, position, state.rows_done,
                 state.rows_total if state.rows_total is not None else "?")
    paused: str | None = None
    try:
        if not dry:
            paused = _write_queue(job, options, progress, totals, report, lambda sid: [f"(queued earlier) {sid}"])
        for batch in source.batches(position) if paused is None else iter(()):
            _one_batch(job, work, batch, options, report, totals, plans, progress, contacts)
            if not dry:
                paused = _write_queue(job, options, progress, totals, report, batch.cells)
                assert state is not None
                state.position = batch.position
                state.rows_done += batch.rows_read
            progress.rows += batch.rows_read
            _log_progress(job, source, state, progress, totals, plans, options, hook)
            if state is not None:
                report.flush()  # the chunk's rejected rows are on disk before its position is saved
                _save(job, state, progress, totals, options, hook, paused)
                totals.clear()
            if paused:
                break
    except AuthError:
        raise
    finally:
        if dry:
            _clear_queue(work)
    if state is not None:
        state.status = "paused" if paused else "done"
        state.status_reason = paused
        _save(job, state, progress, totals, options, hook, paused)
    summary = _summary(job, source, state, progress, totals, plans, options, hook, report, paused)
    text = render(summary)
    where = report.write(summary, text)
    log.info("Backfill report (%s)\n%s", where, text)
    return summary


def _one_batch(job: Job, work: Job, batch: Batch, options: Options, report: RunReport, totals: dict[str, int],
               plans: dict[str, int], progress: _Progress, contacts: Any) -> None:
    hashes = batch.hashes()
    ids = list(hashes)
    with job.connect() as conn:
        known = {r["source_id"]: r for r in conn.execute(query("backfill_row_versions"), {
            "integration_id": job.integration.id, "flow": job.flow, "source_ids": ids}).fetchall()}
    unchanged = {sid for sid, r in known.items() if r["status"] in UNCHANGED_STATUSES
                 and r["payload_hash"] == hashes.get(sid)}
    _add(totals, "rows_read", batch.rows_read)
    _add(totals, "unchanged", len(unchanged))
    _add(totals, "repeated_in_file", len(batch.repeats))
    for sid in unchanged:
        if known[sid]["status"] in ("rejected", "dead"):
            report.reject(batch.cells(sid), known[sid]["status"], f"unchanged since an earlier import: "
                                                                  f"{known[sid]['reason']}")
    for cells, reason in batch.repeats:
        report.reject(cells, "repeated", reason)
    fresh = set(ids) - unchanged
    if not fresh:
        return
    counts = contacts.transform_customers(work, batch.keep(fresh), keep_inactive=options.keep_inactive)
    _add(totals, "checked", counts["transformed"])
    _add(totals, "rejected", counts["rejected"])
    _add(totals, "skipped", counts["skipped"])
    _add(totals, "queued", counts["queued"])
    with job.connect() as conn:
        outcomes = conn.execute(query("backfill_row_versions"), {
            "integration_id": job.integration.id, "flow": work.flow, "source_ids": sorted(fresh)}).fetchall()
    for r in outcomes:
        if r["status"] in ("rejected", "skipped"):
            report.reject(batch.cells(r["source_id"]), r["status"], r["reason"] or "")
    if work is not job:
        _plan_queued(work, fresh, plans, report, batch)


def _plan_queued(work: Job, fresh: set[str], plans: dict[str, int], report: RunReport, batch: Batch) -> None:
    """What the load would do with this chunk's queued contacts, decided against the mirror as stored."""
    from qbo_crm_sync.flows.contacts import mirror
    from qbo_crm_sync.flows.contacts.plan import plan

    with work.connect() as conn:
        items = [outbox.Item(r["source_id"], r["payload"], r["payload_hash"], r["match_key"])
                 for r in conn.execute(query("outbox_get_ids"), {"integration_id": work.integration.id,
                                                                 "flow": work.flow,
                                                                 "source_ids": sorted(fresh)}).fetchall()]
    if not items:
        return
    index = mirror.index_for(work, [i.source_id for i in items], [i.payload for i in items])
    for item in items:
        decided = plan(index, item.source_id, item.payload)
        _add(plans, decided.action, 1)
        if decided.action == "skip":
            report.reject(batch.cells(item.source_id), "would be skipped", decided.reason)


def _write_queue(job: Job, options: Options, progress: _Progress, totals: dict[str, int], report: RunReport,
                 cells: Callable[[str], list[str]]) -> str | None:
    """Write what the flow has queued, in slices the daily budget allows; answer why it stopped
    early (None when the queue is written)."""
    from qbo_crm_sync.flows import contacts

    with job.connect() as conn:
        queued = outbox.waiting(conn, job.integration.id, job.flow)
    if not queued:
        return None
    hook = job.crm
    if hook.daily is None:
        hook.get_location()  # one request: its answer tells the day's budget
        progress.requests += 1
    done = 0
    size = budgets.slice_size(hook)
    while done < len(queued):
        allowed = budgets.affordable(hook.daily, options.rules, 1.0)
        if allowed is not None and allowed < 1:
            return _daily_pause(hook, options, len(queued) - done)
        take = queued[done:done + min(size, allowed if allowed is not None else size)]
        before = _spent(hook)
        started = time.monotonic()
        counts = contacts.write_contacts(job, take)
        progress.write_seconds += time.monotonic() - started
        progress.requests += _spent(hook) - before
        done += len(take)
        for key in ("loaded", "failed", "dead", "deferred"):
            _add(totals, key, counts.get(key, 0))
        _add(totals, "skipped_at_load", counts.get("skipped_at_load", 0))
        with job.connect() as conn:
            ended = tracking.row_status(conn, job.integration.id, job.flow, [i.source_id for i in take])
        for sid, row in ended.items():
            if row["status"] in ("skipped", "failed", "dead"):
                report.reject(cells(sid), row["status"], row["reason"] or "")
        if counts.get("deferred") or (hook.daily is not None and hook.daily.remaining == 0):
            return _daily_pause(hook, options, len(queued) - done) if hook.daily and hook.daily.remaining == 0 \
                else "the CRM kept failing: the rest stays queued for the next run"
    return None


def _daily_pause(hook: Any, options: Options, left: int) -> str:
    daily = hook.daily
    resets = daily.resets_at if daily else None
    return (f"the CRM's daily budget is down to {daily.remaining if daily else '?'} requests and "
            f"{options.rules.daily_reserve} are kept for the scheduled flows: {left} queued contacts wait; "
            f"resumes after {resets:%Y-%m-%d %H:%M} UTC" if resets else "the CRM's daily budget is spent")


def _spent(hook: Any) -> int:
    return int(sum(v for k, v in hook.stats.as_dict().items() if k != "throttled_s"))


def _add(counts: dict[str, int], key: str, n: int) -> None:
    if n:
        counts[key] = counts.get(key, 0) + int(n)


def _clear_queue(work: Job) -> None:
    with work.connect() as conn:
        conn.execute(query("outbox_clear"), {"integration_id": work.integration.id, "flow": work.flow})
        conn.commit()


def _rate(progress: _Progress, hook: Any) -> float:
    if progress.write_seconds > 5 and progress.requests:
        return progress.requests / progress.write_seconds
    return budgets.rate_ceiling(hook) if hook is not None else 0.0


def _eta(state: BackfillState | None, progress: _Progress, options: Options, hook: Any,
         rows_total: int | None, requests_per_row: float) -> datetime | None:
    if state is None or rows_total is None or hook is None:
        return None
    left_rows = max(rows_total - state.rows_done, 0)
    return budgets.finish_estimate(datetime.now(UTC), left_rows * requests_per_row, _rate(progress, hook),
                                   hook.daily, options.rules)


def _measured_rpr(state: BackfillState | None, progress: _Progress) -> float:
    """CRM requests per source row so far (unchanged and rejected rows cost none)."""
    requests = (state.crm_requests if state else 0) + (0 if state else progress.requests)
    rows = state.rows_done if state else progress.rows
    return requests / rows if rows and requests else 1.0


def _save(job: Job, state: BackfillState, progress: _Progress, totals: dict[str, int], options: Options,
          hook: Any, paused: str | None) -> None:
    state.add(totals)
    state.crm_requests += progress.requests - getattr(progress, "_saved_requests", 0)
    progress._saved_requests = progress.requests  # type: ignore[attr-defined]
    state.eta = _eta(state, progress, options, hook, state.rows_total, _measured_rpr(state, progress))
    state.resume_at = hook.daily.resets_at if paused and hook is not None and hook.daily else None
    save_state(job, state)


def _log_progress(job: Job, source: Source, state: BackfillState | None, progress: _Progress,
                  totals: dict[str, int], plans: dict[str, int], options: Options, hook: Any) -> None:
    elapsed = max(time.monotonic() - progress.started, 1e-6)
    done = state.rows_done if state else progress.rows
    total = source.rows_total
    share = f" ({100 * done / total:.1f} %)" if total else ""
    rate = progress.rows / elapsed
    if state is None:
        left = (total - done) / rate if total and rate else 0
        log.info("… %d/%s rows checked%s, %.0f rows/s, about %.0f s left (dry run: %s)", done, total or "?", share,
                 rate, left, dict(plans))
        return
    rpr = _measured_rpr(state, progress)
    eta = _eta(state, progress, options, hook, total, rpr)
    daily = hook.daily if hook is not None else None
    log.info("… %d/%s rows done%s, %.1f rows/s, %d CRM requests (%.3f per row, %.1f/s); daily budget %s left "
             "(%d kept for the scheduled flows); finishes %s", done, total or "?", share, rate, progress.requests,
             rpr, _rate(progress, hook), daily.remaining if daily else "?", options.rules.daily_reserve,
             budgets.describe_eta(eta))


def _summary(job: Job, source: Source, state: BackfillState | None, progress: _Progress, totals: dict[str, int],
             plans: dict[str, int], options: Options, hook: Any, report: RunReport,
             paused: str | None) -> dict[str, Any]:
    counts = dict(state.counts) if state else dict(totals)
    summary: dict[str, Any] = {
        "flow": job.flow, "integration_id": job.integration.id, "location_id": job.integration.location_id,
        "source": source.description, "dry_run": options.dry_run,
        "status": "dry_run" if options.dry_run else ("paused" if paused else "done"),
        "status_reason": paused, "rows_total": source.rows_total,
        "rows_done": state.rows_done if state else progress.rows, "counts": counts,
        "crm_requests_this_run": progress.requests,
        "burst_share": options.rules.burst_share, "daily_reserve": options.rules.daily_reserve,
        "rejected_file": str(report.rejected_path) if report.rejected_rows else None,
        "rejected_rows": report.rejected_rows,
        "seconds": round(time.monotonic() - progress.started, 1),
    }
    if options.dry_run:
        writes = plans.get("create", 0) + plans.get("update", 0)
        rate = options.rules.requests_per_window(100) / 10
        requests = writes + -(-writes // budgets.CATCH_UP_EVERY) + (1 if writes else 0)
        per_day = 200_000 - options.rules.daily_reserve
        summary.update(would_create=plans.get("create", 0), would_update=plans.get("update", 0),
                       would_skip_at_load=plans.get("skip", 0), crm_requests_needed=requests,
                       crm_days_needed=round(requests / per_day, 2) if per_day > 0 else None,
                       crm_hours_at_burst_share=round(requests / rate / 3600, 2) if rate else None)
    else:
        assert state is not None
        summary.update(crm_requests_total=state.crm_requests, eta=state.eta.isoformat() if state.eta else None,
                       resume_at=state.resume_at.isoformat() if state.resume_at else None,
                       backfill_id=state.id)
        with job.connect() as conn:
            outcomes = tracking.summary(conn, job.run_id)
        reasons = outcomes["by_reason"].get("loaded", {})
        summary["created"] = sum(n for r, n in reasons.items() if r.startswith("created"))
        summary["updated"] = sum(n for r, n in reasons.items() if r.startswith("updated"))
    return summary


def render(summary: dict[str, Any]) -> str:
    source = summary["source"]
    counts = summary["counts"]
    lines = [f"{summary['flow']} · integration {summary['integration_id']} ({summary['location_id']}) · "
             f"{summary['status']}" + (f": {summary['status_reason']}" if summary.get("status_reason") else ""),
             f"  source: {source.get('label', '?')}" + (f" ({source['shape']})" if source.get("shape") else ""),
             f"  rows: {summary['rows_done']} of {summary['rows_total'] if summary['rows_total'] is not None else '?'}"
             f" read; unchanged since an earlier import {counts.get('unchanged', 0)}; repeated in the file "
             f"{counts.get('repeated_in_file', 0)}",
             f"  checked {counts.get('checked', 0)}: rejected {counts.get('rejected', 0)}, skipped "
             f"{counts.get('skipped', 0)}, queued {counts.get('queued', 0)}"]
    if summary["dry_run"]:
        lines += [f"  dry run, nothing sent to the CRM: would create {summary['would_create']}, update "
                  f"{summary['would_update']}, skip {summary['would_skip_at_load']} (planned on the contact mirror "
                  "as last read)",
                  f"  cost: about {summary['crm_requests_needed']} CRM requests: "
                  f"{summary['crm_hours_at_burst_share']} h at {summary['burst_share']:.0%} of the burst budget, "
                  f"{summary['crm_days_needed']} days of the daily budget left after the reserve of "
                  f"{summary['daily_reserve']}"]
    else:
        lines += [f"  written: loaded {counts.get('loaded', 0)} (created {summary['created']}, updated "
                  f"{summary['updated']} in this run), skipped at load {counts.get('skipped_at_load', 0)}, failed "
                  f"{counts.get('failed', 0)}, dead {counts.get('dead', 0)}",
                  f"  CRM requests: {summary['crm_requests_this_run']} this run, {summary['crm_requests_total']} in "
                  f"all; finishes {budgets.describe_eta(_time(summary.get('eta')))}"]
        if summary.get("resume_at"):
            lines.append(f"  resumes after {summary['resume_at']} (by itself, or trigger it again)")
    if summary.get("rejected_file"):
        lines.append(f"  {summary['rejected_rows']} rows not loaded, with reasons: {summary['rejected_file']}")
    return "\n".join(lines)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
