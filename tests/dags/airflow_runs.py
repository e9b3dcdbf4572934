"""Running Airflow's own CLI from the DAG tests, and reading what a run left in its metadata database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("airflow"))
    return subprocess.run([exe, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def last_run(dag_id: str) -> tuple[str, dict[tuple[str, int], tuple[str | None, str | None]]]:
    """The latest run's state and its task instances, ``(task_id, map_index) -> (state, label)``, read
    from Airflow's metadata database (the test stack's SQLite file)."""
    path = Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    with sqlite3.connect(path) as meta:
        run_id, state = meta.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)).fetchone()
        rows = meta.execute(
            "SELECT task_id, map_index, state, rendered_map_index FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id)).fetchall()
    return state, {(task_id, index): (ti_state, label) for task_id, index, ti_state, label in rows}
