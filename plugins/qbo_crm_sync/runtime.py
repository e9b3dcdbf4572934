"""The glue between Airflow tasks and flow steps: which integrations run, one step per task, the
bookkeeping around it (run row, counts, timings, auth failures), and the run's closing verdict.

DAG files import this module at parse time, so it imports nothing heavy at module level.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)


def connected_integrations() -> list[dict[str, Any]]:
    """The integrations to sync now; the others are logged with the reason they are left out."""
    from qbo_crm_sync import config
    from qbo_crm_sync.store import db, integrations
    from qbo_crm_sync.store.migrate import migrate

    url = config.database_url()
    # Each run brings the store's schema up to date first (a no-op once it is): a deployment
    # needs no separate migration step before its first DAG run.
    applied = migrate(url)
    if applied:
        log.info("Applied store migrations: %s", ", ".join(applied))
    with db.connect(url) as conn:
        rows = integrations.list_all(conn)
    active = []
    for i in rows:
        if i.is_active:
            active.append(stage_ref(i))
        else:
            log.warning("Integration %s (location %s, %s) skipped: %s%s", i.id, i.location_id,
                        i.company_label, i.status, f" ({i.status_reason})" if i.status_reason else "")
    if not active:
        log.warning("No connected integration: connect one (QB Connect page or "
                    "`python -m qbo_crm_sync integrations connect`).")
    log.info("%d integration(s) to sync: %s", len(active), [a["integration_id"] for a in active])
    return active


def stage_ref(integration: Any) -> dict[str, Any]:
    """What the stage tasks are handed for one integration; the company name is for the run's summary."""
    return {"integration_id": integration.id, "location_id": integration.location_id,
            "realm_id": integration.realm_id, "company_name": integration.company_name}


def run_step(flow_module: str, step: str, ref: Mapping[str, Any], context: Mapping[str, Any],
             params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run ``<flow_module>.<step>(job)`` for the integration in ``ref`` inside an Airflow task."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from qbo_crm_sync import config
    from qbo_crm_sync.errors import AuthError, ConfigurationError
    from qbo_crm_sync.flows.job import Job
    from qbo_crm_sync.store import db, integrations, tracking

    if isinstance(context, dict) or hasattr(context, "__setitem__"):
        # Names the mapped task instance in the UI ("map_index_template").
        context["integration_label"] = f"integration {ref['integration_id']} ({ref.get('location_id', '?')})"  # type: ignore[index]
    module = importlib.import_module(f"qbo_crm_sync.flows.{flow_module}")
    flow = module.FLOW
    url = config.database_url()
    ctx = tracking.RunContext.from_airflow(context)
    with db.connect(url) as conn:
        integration = integrations.require(conn, int(ref["integration_id"]))
        if not integration.is_active:
            raise AirflowSkipException(
                f"integration {integration.id} is {integration.status}: {integration.status_reason or 'no reason given'}")
        run_id = tracking.start_run(conn, integration.id, flow, ctx)
        conn.commit()
    job_params = dict(params or {})
    interval = past_data_interval(context)
    if interval is not None:
        job_params["data_interval"] = interval
        log.info("This run covers the past data interval [%s, %s): extracting exactly that window", *interval)
    job = Job(db_url=url, integration=integration, run_id=run_id, ctx=ctx, flow=flow, params=job_params)
    started = time.monotonic()
    try:
        counts = getattr(module, step)(job) or {}
    except AuthError as exc:
        with db.connect(url) as conn:
            integrations.set_status(conn, integration.id, "needs_reauth", str(exc))
            _merge_run(conn, run_id, step, {}, time.monotonic() - started, status="failed")
            conn.commit()
        raise AirflowFailException(f"integration {integration.id} needs reauthorization: {exc}") from exc
    except ConfigurationError as exc:
        raise AirflowFailException(str(exc)) from exc
    with db.connect(url) as conn:
        _merge_run(conn, run_id, step, counts, time.monotonic() - started)
        conn.commit()
    return {"integration_id": integration.id, "location_id": integration.location_id, "run_id": run_id, **counts}


# A run whose data interval ended longer ago than this re-runs the past (``airflow backfill create``,
# or a cleared old run): scheduled runs start right after their interval ends.
PAST_INTERVAL_AFTER = timedelta(minutes=15)


def past_data_interval(context: Mapping[str, Any], now: datetime | None = None) -> tuple[datetime, datetime] | None:
    """``(data_interval_start, data_interval_end)`` when this run covers a past range: a backfill
    run, or an interval that ended more than PAST_INTERVAL_AFTER ago; None for a current run."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None or not end > start:
        return None
    dag_run = context.get("dag_run")
    run_type = str(getattr(dag_run, "run_type", "") or "").lower()
    start, end = _utc(start), _utc(end)
    if "backfill" in run_type or end < (now or datetime.now(UTC)) - PAST_INTERVAL_AFTER:
        return start, end
    return None


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def backfill_integration(params: Mapping[str, Any]) -> dict[str, Any]:
    """The integration a backfill's trigger form names (its id or its CRM location id; none: the only
    connected one), as a stage ``ref``; fails saying which integrations there are."""
    from airflow.sdk.exceptions import AirflowFailException

    from qbo_crm_sync import config
    from qbo_crm_sync.store import db, integrations
    from qbo_crm_sync.store.migrate import migrate

    url = config.database_url()
    applied = migrate(url)
    if applied:
        log.info("Applied store migrations: %s", ", ".join(applied))
    with db.connect(url) as conn:
        known = integrations.list_all(conn)
    wanted = str(params.get("integration") or "").strip()
    listing = "; ".join(f"{i.id} (location {i.location_id}, {i.status})" for i in known) or "none"
    if wanted:
        found = [i for i in known if str(i.id) == wanted or i.location_id == wanted]
    else:
        found = [i for i in known if i.is_active]
        if len(found) > 1:
            raise AirflowFailException(f"Several integrations are connected: name one in the form's 'integration' "
                                       f"field. Integrations: {listing}")
    if not found:
        raise AirflowFailException(f"No integration {wanted or 'connected'}: integrations are {listing}")
    chosen = found[0]
    if not chosen.is_active:
        raise AirflowFailException(f"Integration {chosen.id} is {chosen.status}"
                                   f"{': ' + chosen.status_reason if chosen.status_reason else ''}: reconnect it first")
    log.info("Backfilling integration %s (location %s, %s)", chosen.id, chosen.location_id, chosen.company_label)
    return stage_ref(chosen)


def _merge_run(conn: Any, run_id: int, step: str, counts: Mapping[str, Any], seconds: float,
               status: str | None = None) -> None:
    from qbo_crm_sync.store import tracking

    run = tracking.get_run(conn, run_id) or {}
    merged_counts = {**(run.get("counts") or {}), **counts}
    timings = {**(run.get("timings") or {}), f"{step}_s": round(seconds, 3)}
    if status is None:
        status = "running" if step != "report" else counts.get("run_status", "success")
    tracking.finish_run(conn, run_id, status, merged_counts, timings)


# -- the end of a DAG run: one verdict over every integration --------------------------------
FAILED_STATES = frozenset({"failed", "upstream_failed"})


@dataclass(frozen=True)
class IntegrationOutcome:
    """How one integration's chain of stage tasks ended in a DAG run."""

    ref: Mapping[str, Any]
    outcome: str  # "synced", "skipped" or "failed"
    stage: str | None  # the stage that failed or was skipped first
    states: Mapping[str, str | None]
    report: Mapping[str, Any] | None = None
    reason: str | None = None

    @property
    def label(self) -> str:
        """Names the QuickBooks company as the QB Connect page does: its name when one is stored."""
        realm = f"realm {self.ref.get('realm_id', '?')}"
        company = self.ref.get("company_name")
        return (f"integration {self.ref['integration_id']} (location {self.ref.get('location_id', '?')}, "
                f"{f'{company} ({realm})' if company else realm})")

    def describe(self) -> str:
        if self.outcome == "synced":
            report = self.report or {}
            rows = "  ".join(f"{k[5:]} {v}" for k, v in report.items() if k.startswith("rows_"))
            return f"{self.label}: synced, {report.get('run_status', 'success')}{'  ' + rows if rows else ''}"
        how = "failed" if self.outcome == "failed" else "skipped"
        return f"{self.label}: {how} at {self.stage}" + (f": {self.reason}" if self.reason else "")


def integration_outcomes(refs: Sequence[Mapping[str, Any]], task_states: Mapping[str, str | None],
                         steps: Sequence[str]) -> list[IntegrationOutcome]:
    """Each integration's outcome from the states of its stage tasks.

    ``task_states`` is keyed ``<task_id>_<map_index>`` (Airflow's task-states answer for one run);
    the map index of a mapped task group is the integration's position in ``refs``.
    """
    outcomes = []
    for index, ref in enumerate(refs):
        states = {step: task_states.get(f"{step}_{index}") for step in steps}
        failed = [s for s in steps if states[s] in FAILED_STATES]
        if failed:
            first = next((s for s in failed if states[s] == "failed"), failed[0])
            outcomes.append(IntegrationOutcome(ref, "failed", first, states))
        elif all(states[s] == "success" for s in steps):
            outcomes.append(IntegrationOutcome(ref, "synced", None, states))
        elif skipped := [s for s in steps if states[s] == "skipped"]:
            outcomes.append(IntegrationOutcome(ref, "skipped", skipped[0], states))
        else:  # cleared, removed or still running: the run did not finish this integration
            unfinished = next(s for s in steps if states[s] != "success")
            outcomes.append(IntegrationOutcome(ref, "failed", unfinished, states,
                                               reason=f"{unfinished} ended {states[unfinished] or 'without a state'}"))
    return outcomes


def verdict(outcomes: Sequence[IntegrationOutcome], left_out: Sequence[Any]) -> tuple[bool, str]:
    """Whether the DAG run succeeded, and the message that says why.

    It fails when any integration failed, and when nothing synced at all (no integration connected,
    or every one skipped), so that a run which did nothing never looks like a plain success.
    """
    failed = [o for o in outcomes if o.outcome == "failed"]
    synced = [o for o in outcomes if o.outcome == "synced"]
    skipped = [o for o in outcomes if o.outcome == "skipped"]
    parts = {
        "synced": ", ".join(o.label for o in synced),
        "skipped": "; ".join(o.describe() for o in skipped),
        "left out": "; ".join(f"integration {i.id} (location {i.location_id}) is {i.status}"
                              + (f": {i.status_reason}" if i.status_reason else "") for i in left_out),
    }

    def tail(*names: str, sep: str = "; ") -> str:
        return "".join(f"{sep}{name}: {parts[name]}" for name in names if parts[name])

    if failed:
        head = f"{len(failed)} of {len(outcomes)} integration(s) failed: " + "; ".join(o.describe() for o in failed)
        return False, head + tail("synced", "skipped", "left out", sep=". ")
    if not synced:
        head = "every integration was skipped: " + parts["skipped"] if skipped else "no integration is connected"
        return False, (f"Nothing synced: {head}{tail('left out')}. To fix: connect or reconnect one "
                       "(QB Connect page or `python -m qbo_crm_sync integrations connect`).")
    return True, f"{len(synced)} integration(s) synced{tail('skipped', 'left out')}"


def summarise(refs: Sequence[Mapping[str, Any]] | None, context: Mapping[str, Any], steps: Sequence[str],
              group_id: str) -> dict[str, Any]:
    """The DAG run's last task: log each integration's outcome; fail when any integration failed or
    nothing synced, naming them."""
    from airflow.sdk.exceptions import AirflowFailException

    from qbo_crm_sync import config
    from qbo_crm_sync.store import db, integrations

    if refs is None:
        raise AirflowFailException("Nothing synced: the `integrations` task handed over no list; see its log.")
    ti = context["ti"]
    by_run = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id], task_group_id=group_id)
    outcomes = integration_outcomes(refs, by_run.get(ti.run_id, {}), steps)
    with db.connect(config.database_url()) as conn:
        known = {i.id: i for i in integrations.list_all(conn)}
    # Integrations the `integrations` task left out and that need someone (a user's disconnect does not).
    listed = {int(ref["integration_id"]) for ref in refs}
    left_out = [i for i in known.values() if i.id not in listed and i.status == "needs_reauth"]
    for n, o in enumerate(outcomes):
        stored = known.get(int(o.ref["integration_id"]))
        if stored is not None and stored.company_name and not o.ref.get("company_name"):
            # A run listed before the name was stored (or by an older version) still names the company.
            o = outcomes[n] = replace(o, ref={**o.ref, "company_name": stored.company_name})
        if o.outcome == "synced":
            report = ti.xcom_pull(task_ids=steps[-1], map_indexes=n)
            outcomes[n] = replace(o, report=report if isinstance(report, Mapping) else None)
        elif o.reason is None:
            integration = known.get(int(o.ref["integration_id"]))
            if integration is not None and not integration.is_active:
                reason = f"{integration.status}" + (f" ({integration.status_reason})" if integration.status_reason else "")
            else:
                reason = f"see the log of task {o.stage}, map index {n}"
            outcomes[n] = replace(o, reason=reason)
    lines = [o.describe() for o in outcomes] or ["(no integration to sync)"]
    lines += [f"integration {i.id} (location {i.location_id}, {i.company_label}): left out, {i.status}"
              + (f" ({i.status_reason})" if i.status_reason else "") for i in left_out]
    ok, message = verdict(outcomes, left_out)
    log.info("Integrations in this run\n  %s", "\n  ".join(lines))
    if not ok:
        raise AirflowFailException(message)
    log.info("%s", message)
    return {"synced": [o.ref["integration_id"] for o in outcomes if o.outcome == "synced"],
            "skipped": [o.ref["integration_id"] for o in outcomes if o.outcome == "skipped"],
            "left_out": [i.id for i in left_out]}
