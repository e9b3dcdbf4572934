"""DAG integrity: every DAG file parses without errors, cheaply, and follows the house rules."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from qbo_crm_sync.dag_defaults import OWNER, TAGS
from qbo_crm_sync.dag_factory import BACKFILL_STEPS, GROUP_ID, MAP_INDEX_TEMPLATE, STEPS

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
BACKFILLS = {"contacts_csv_backfill", "qbo_customers_backfill"}


def scheduled(dagbag) -> list:
    return [d for d in dagbag.dags.values() if d.dag_id not in BACKFILLS]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch):
    """Load the DagBag once, with no database and no connection reachable.

    Parsing must not touch either: the sync DB URL points nowhere and sockets are refused.
    """
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch_module.setenv("SYNC_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    calls: list[tuple] = []
    real_connect = socket.socket.connect

    def refuse(self, address):  # noqa: ANN001
        calls.append(address)
        raise OSError("network access during DAG parsing")

    monkeypatch_module.setattr(socket.socket, "connect", refuse)
    try:
        bag = DagBag(dag_folder=str(DAGS))
    finally:
        monkeypatch_module.setattr(socket.socket, "connect", real_connect)
    bag.network_calls = calls  # type: ignore[attr-defined]
    return bag


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_every_dag_file_defines_a_dag(dagbag) -> None:
    files = {p.stem for p in DAGS.glob("*.py")}
    assert files, "no DAG files"
    assert {d for d in dagbag.dag_ids} >= files


def test_parsing_makes_no_network_or_database_call(dagbag) -> None:
    assert dagbag.network_calls == []


@pytest.mark.parametrize("attr", ["owner", "retries"])
def test_default_args(dagbag, attr: str) -> None:
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            if attr == "owner":
                assert task.owner == OWNER, f"{dag.dag_id}.{task.task_id}"
            else:
                assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


def test_tags_from_the_fixed_list(dagbag) -> None:
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert set(dag.tags) <= TAGS, f"{dag.dag_id}: {set(dag.tags) - TAGS}"


def test_every_flow_has_its_dag_every_five_minutes(dagbag) -> None:
    from datetime import timedelta

    flows = ("qbo_customers_to_crm", "crm_payments_to_qbo", "crm_invoices_to_qbo", "qbo_payments_to_review_requests")
    # Every scheduled DAG is one of the flows: a new flow's DAG is added here, with its schedule checked.
    assert sorted(d.dag_id for d in scheduled(dagbag)) == sorted(flows)
    for dag_id in flows:
        assert dagbag.dags[dag_id].schedule == timedelta(minutes=5), dag_id


def test_runbook_and_schedule(dagbag) -> None:
    for dag in dagbag.dags.values():
        assert dag.doc_md and "When it fails" in dag.doc_md, dag.dag_id
        assert dag.max_active_runs == 1 or dag.schedule is None, dag.dag_id


def test_each_integration_runs_its_own_chain_of_stages(dagbag) -> None:
    """The stages form a task group mapped over the `integrations` output, so each integration has
    its own extract → transform → load → report chain and one integration's failure stops no other."""
    from airflow.sdk.definitions.taskgroup import MappedTaskGroup

    for dag in scheduled(dagbag):
        assert set(dag.task_ids) == {"integrations", *STEPS, "summary"}, dag.dag_id
        group = dag.task_group_dict[GROUP_ID]
        assert isinstance(group, MappedTaskGroup), dag.dag_id
        assert [op.task_id for op in group.iter_mapped_dependencies()] == ["integrations"], dag.dag_id
        assert [t.task_id for t in group.iter_tasks()] == list(STEPS), dag.dag_id
        previous = None
        for step in STEPS:
            stage = dag.task_dict[step]
            # Mapped through the group, not on its own: expanding each stage over the previous
            # stage's output would tie every integration's chain to every other's.
            assert not stage.is_mapped, f"{dag.dag_id}.{step}"
            assert stage.get_closest_mapped_task_group() is group, f"{dag.dag_id}.{step}"
            assert stage.trigger_rule == "all_success", f"{dag.dag_id}.{step}"
            assert stage.map_index_template == MAP_INDEX_TEMPLATE, f"{dag.dag_id}.{step}"
            assert stage.upstream_task_ids == {"integrations"} | ({previous} if previous else set()), step
            previous = step


def test_the_summary_decides_the_run(dagbag) -> None:
    """`summary` waits for every integration's chain whatever its outcome and is the only leaf, so
    the run's state is its verdict."""
    for dag in scheduled(dagbag):
        summary = dag.task_dict["summary"]
        assert summary.trigger_rule == "all_done", dag.dag_id
        assert summary.get_closest_mapped_task_group() is None and not summary.is_mapped, dag.dag_id
        assert summary.upstream_task_ids == {"integrations", STEPS[-1]}, dag.dag_id
        assert [t.task_id for t in dag.leaves] == ["summary"], dag.dag_id


def test_dag_files_do_not_import_heavy_modules() -> None:
    """Importing every DAG file leaves pandas, numpy and great_expectations unloaded."""
    code = (
        "import sys, runpy, pathlib\n"
        f"for p in sorted(pathlib.Path({str(DAGS)!r}).glob('*.py')): runpy.run_path(str(p))\n"
        "heavy = [m for m in ('pandas', 'numpy', 'great_expectations') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    env = os.environ | {"PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT}"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    marker = [line for line in out.stdout.splitlines() if line.startswith("HEAVY=")]
    assert marker == ["HEAVY="], out.stdout[-2000:]


def test_connection_types_are_registered() -> None:
    """The provider entry point makes both connection types, with their form fields, known to Airflow."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviours = manager.field_behaviours
    assert behaviours.get("quickbooks", {}).get("relabeling", {}).get("login") == "Client ID"
    assert behaviours.get("highlevel", {}).get("relabeling", {}).get("password") == "Private Integration Token"


def test_backfills_are_manual_with_a_validated_trigger_form(dagbag) -> None:
    """Backfills run only when triggered, one at a time, through integration → check → backfill →
    report, with a form whose fields carry JSON-schema types, descriptions and safe defaults."""
    assert BACKFILLS <= set(dagbag.dag_ids)
    for dag_id in BACKFILLS:
        dag = dagbag.dags[dag_id]
        assert dag.schedule is None and dag.max_active_runs == 1 and "backfill" in dag.tags, dag_id
        assert [t.task_id for t in dag.topological_sort()] == ["integration", *(t for t, _ in BACKFILL_STEPS)]
        params = dag.params
        for name in ("integration", "dry_run", "chunk_size", "customers", "burst_share", "daily_reserve"):
            param = params.get_param(name)
            assert param.schema.get("type") and param.description, (dag_id, name)
        assert params["dry_run"] is True, dag_id  # nothing reaches the CRM unless asked
        assert params.get_param("customers").schema["enum"], dag_id
        assert 0 < params["burst_share"] < 1 and params["daily_reserve"] > 0, dag_id
    form = dagbag.dags["contacts_csv_backfill"].params
    assert form.get_param("encoding").schema["enum"] == ["auto", "utf-8", "windows-1252"]
    assert form.get_param("customers").schema["enum"] == ["all", "active"]
    assert dagbag.dags["qbo_customers_backfill"].params.get_param("customers").schema["enum"] == ["active", "all"]


@pytest.mark.parametrize(("field", "value", "valid"), [
    ("csv_file", "customers.csv", True),
    ("csv_file", "2026/december export.csv", True),
    ("csv_file", "../etc/passwd", False),
    ("csv_file", "exports/../../secret.csv", False),
    ("csv_file", "/etc/passwd", False),
    ("chunk_size", 50, False),
    ("chunk_size", 5000, True),
    ("burst_share", 1.0, False),
    ("encoding", "latin-9", False),
    ("integration", "ve9EPM428h8vShlRW1KT", True),
    ("integration", "12", True),
    ("integration", "x'; DROP", False),
])
def test_the_trigger_form_refuses_bad_values(dagbag, field: str, value: object, valid: bool) -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    param = dagbag.dags["contacts_csv_backfill"].params.get_param(field)
    if valid:
        assert param.resolve(value) == value
    else:
        with pytest.raises(ParamValidationError):
            param.resolve(value)
