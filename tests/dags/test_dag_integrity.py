"""DAG integrity: every DAG file parses without errors, cheaply, and follows the house rules."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from qbo_crm_sync.dag_defaults import OWNER, TAGS

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"


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


def test_runbook_and_schedule(dagbag) -> None:
    for dag in dagbag.dags.values():
        assert dag.doc_md and "When it fails" in dag.doc_md, dag.dag_id
        assert dag.max_active_runs == 1 or dag.schedule is None, dag.dag_id


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
