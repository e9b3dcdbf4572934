"""The glue between Airflow tasks and flow steps: which integrations run, one step per task, and
the bookkeeping around it (run row, counts, timings, auth failures).

DAG files import this module at parse time, so it imports nothing heavy at module level.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping
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
            active.append({"integration_id": i.id, "location_id": i.location_id, "realm_id": i.realm_id})
        else:
            log.warning("Integration %s (location %s, realm %s) skipped: %s%s", i.id, i.location_id,
                        i.realm_id, i.status, f" ({i.status_reason})" if i.status_reason else "")
    if not active:
        log.warning("No connected integration: connect one (QB Connect page or "
                    "`python -m qbo_crm_sync integrations connect`).")
    log.info("%d integration(s) to sync: %s", len(active), [a["integration_id"] for a in active])
    return active


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
    job = Job(db_url=url, integration=integration, run_id=run_id, ctx=ctx, flow=flow, params=dict(params or {}))
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


def _merge_run(conn: Any, run_id: int, step: str, counts: Mapping[str, Any], seconds: float,
               status: str | None = None) -> None:
    from qbo_crm_sync.store import tracking

    run = tracking.get_run(conn, run_id) or {}
    merged_counts = {**(run.get("counts") or {}), **counts}
    timings = {**(run.get("timings") or {}), f"{step}_s": round(seconds, 3)}
    if status is None:
        status = "running" if step != "report" else counts.get("run_status", "success")
    tracking.finish_run(conn, run_id, status, merged_counts, timings)
