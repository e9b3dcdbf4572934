"""The shape every flow DAG shares, built in one place:

    integrations ──▶ per_integration[i]: extract ──▶ transform ──▶ load ──▶ report ──▶ summary

``per_integration`` is a mapped task group: one copy of the four stage tasks per connected
integration, each copy depending only on its own earlier stages. One integration's failure stops
that integration's chain and no other. ``summary`` runs once every chain has ended, whatever
happened (trigger rule ``all_done``), and fails, naming the integrations, when any of them failed
or when nothing synced at all (none connected, or every one skipped). It is the DAG's only leaf,
so it decides the run's state.

Each stage task gets only its integration's ids and runs one step of the flow module through
runtime.run_step; the data stays in PostgreSQL. Cheap to import: DAG files call it at parse time.

Backfills have a shape of their own (:func:`backfill_dag`): manual only, a trigger form (``params``)
naming one integration, and ``integration ──▶ check ──▶ backfill ──▶ report``. ``backfill`` is a
:class:`BackfillStep`: when the CRM's daily budget stops it, it waits deferred (no worker held) until
the budget returns, then goes on from where it stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import (
    DAG,
    BaseOperator,
    Param,
    TriggerRule,
    chain,
    dag,
    get_current_context,
    task,
    task_group,
)

from qbo_crm_sync import runtime
from qbo_crm_sync.dag_defaults import DEFAULT_ARGS, START_DATE

STEPS = ("extract", "transform", "load", "report")
GROUP_ID = "per_integration"
# Names each mapped task instance after its integration in the grid (runtime.run_step sets it).
MAP_INDEX_TEMPLATE = "{{ integration_label }}"


def flow_dag(
    dag_id: str,
    flow_module: str,
    doc_md: str,
    tags: list[str],
    schedule: timedelta | None = timedelta(minutes=5),
) -> DAG:
    """A DAG running ``qbo_crm_sync.flows.<flow_module>``'s steps for every connected integration."""

    @dag(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        dagrun_timeout=timedelta(minutes=30),
        tags=tags,
        doc_md=doc_md,
    )
    def flow() -> None:
        @task(retries=3)
        def integrations() -> list[dict]:
            return runtime.connected_integrations()

        def step_task(step: str):  # noqa: ANN202 - an Airflow task factory
            options: dict = {"task_id": step, "map_index_template": MAP_INDEX_TEMPLATE}
            if step == "report":
                options["retries"] = 1

            @task(**options)
            def run(ref: dict) -> dict:
                return runtime.run_step(flow_module, step, ref, get_current_context())

            return run

        # Task ids stay "extract" … "report" (no group prefix): runbooks, sync.row_event.task_id
        # and log paths name the stage alone; the map index names the integration.
        @task_group(group_id=GROUP_ID, prefix_group_id=False)
        def per_integration(ref: dict) -> None:
            """One integration's stages, in order; independent of every other integration."""
            chain(*(step_task(step)(ref) for step in STEPS))

        # No retry for the verdict itself (it raises AirflowFailException); one for a store hiccup.
        @task(trigger_rule=TriggerRule.ALL_DONE, retries=1)
        def summary(refs: list[dict] | None) -> dict:
            return runtime.summarise(refs, get_current_context(), STEPS, GROUP_ID)

        refs = integrations()
        per_integration.expand(ref=refs) >> summary(refs)

    return flow()


# -- backfills: manual, with a trigger form -----------------------------------------------------
BACKFILL_STEPS = (("check", "check"), ("backfill", "load"), ("report", "report"))


class BackfillStep(BaseOperator):
    """Runs one step of a backfill flow module for the integration the ``integration`` task chose.

    When the step answers ``status: paused`` with a ``resume_at`` time (the CRM's daily budget is
    spent), the task defers itself until then and runs the step again, which resumes the backfill
    where it stopped."""

    template_fields = ()

    def __init__(self, *, flow_module: str, step: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow_module = flow_module
        self.step = step

    def execute(self, context: Any) -> dict:
        ref = context["ti"].xcom_pull(task_ids="integration")
        result = runtime.run_step(self.flow_module, self.step, ref, context, params=dict(context["params"]))
        resume_at = result.get("resume_at") if result.get("status") == "paused" else None
        if resume_at:
            from datetime import datetime

            from airflow.providers.standard.triggers.temporal import DateTimeTrigger

            self.log.info("Waiting for the CRM's daily budget until %s, then going on", resume_at)
            self.defer(trigger=DateTimeTrigger(moment=datetime.fromisoformat(resume_at)), method_name="execute_again")
        return result

    def execute_again(self, context: Any, event: Any = None) -> dict:
        return self.execute(context)


def backfill_dag(dag_id: str, flow_module: str, doc_md: str, tags: list[str], params: dict[str, Param]) -> DAG:
    """A manual DAG running ``qbo_crm_sync.flows.<flow_module>``'s check, load and report steps for
    the integration its trigger form names."""

    @dag(
        dag_id=dag_id,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=tags,
        doc_md=doc_md,
        params=params,
    )
    def flow() -> None:
        @task(retries=1)
        def integration() -> dict:
            return runtime.backfill_integration(get_current_context()["params"])

        # A file or a form that cannot work fails at once (AirflowFailException), whatever the retries.
        steps = [BackfillStep(task_id=task_id, flow_module=flow_module, step=step)
                 for task_id, step in BACKFILL_STEPS]
        chain(integration(), *steps)

    return flow()
