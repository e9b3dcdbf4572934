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
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, TriggerRule, chain, dag, get_current_context, task, task_group

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
