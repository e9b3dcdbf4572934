"""The shape every flow DAG shares, built in one place:

    integrations ──▶ extract ──▶ transform ──▶ load ──▶ report     (each mapped per integration)

Each task runs one step of the flow module through runtime.run_step; the tasks hand each other
only ids and counts, the data stays in PostgreSQL. Cheap to import: DAG files call it at parse time.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, dag, get_current_context, task

from qbo_crm_sync import runtime
from qbo_crm_sync.dag_defaults import DEFAULT_ARGS, START_DATE

STEPS = ("extract", "transform", "load", "report")


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

        def step_task(step: str, retries: int | None = None):  # noqa: ANN202 - an Airflow task factory
            options = {"task_id": step, "map_index_template": "{{ integration_label }}"}
            if retries is not None:
                options["retries"] = retries

            @task(**options)
            def run(ref: dict) -> dict:
                return runtime.run_step(flow_module, step, ref, get_current_context())

            return run

        refs = integrations()
        for step in STEPS:
            refs = step_task(step, retries=1 if step == "report" else None).expand(ref=refs)

    return flow()
