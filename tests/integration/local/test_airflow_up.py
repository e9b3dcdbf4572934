"""`make up`'s Airflow: at AIRFLOW_PORT, on 127.0.0.1 only, tasks reach the execution API there, the
login file is private, and stopping leaves nothing behind."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from cryptography.fernet import Fernet

from qbo_crm_sync.local import airflow_components, processes
from qbo_crm_sync.local.stack import Stack
from tests.support import ROOT, free_port

# The Airflow components in the foreground, as `make up` ends, on the test's folders.
DRIVER = """
import os, sys
from pathlib import Path
from qbo_crm_sync.local import airflow_components
sys.exit(airflow_components.serve(dict(os.environ), Path(sys.argv[1]), int(sys.argv[2]), "READY"))
"""


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 300) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if answer := check():
                return answer
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def airflow_env(db_url: str, qbo: str, highlevel: str, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    port = free_port()
    monkeypatch.setenv("AIRFLOW_PORT", str(port))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    env = dict(os.environ) | Stack(db_url, Fernet.generate_key().decode(), qbo, highlevel).env()
    assert airflow_components.ensure_metadata_db(env, tmp_path / "logs")
    return env


def test_up_listens_on_loopback_at_airflow_port_runs_tasks_and_stops_clean(
        airflow_env: dict[str, str], data_dir: Path, tmp_path: Path) -> None:
    port = int(airflow_env["AIRFLOW__API__PORT"])
    home = Path(airflow_env["AIRFLOW_HOME"])
    # A password file left world-readable by an earlier Airflow is narrowed too.
    (home / airflow_components.PASSWORD_FILE).write_text("{}")
    (home / airflow_components.PASSWORD_FILE).chmod(0o644)
    passwords = airflow_components.private_password_file(home)

    log = (tmp_path / "up.log").open("wb")
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(data_dir), str(port)], cwd=ROOT,
                              env=airflow_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("the API server", lambda: requests.get(f"{base}/api/v2/version", timeout=5).ok)

        # Listening on the loopback interface only, and no log servers on their fixed ports.
        listening = {(c.laddr.ip, c.laddr.port) for p in processes.owned_processes(data_dir)
                     for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
        assert ("127.0.0.1", port) in listening
        assert {ip for ip, _ in listening} == {"127.0.0.1"}, listening
        assert not {8793, 8794} & {p for _, p in listening}

        assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
        password = wait_for("the generated password", lambda: json.loads(passwords.read_text() or "{}").get("admin"))
        token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password},
                              timeout=30).json()["access_token"]
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"

        # A task runs to the end: the execution API is found at this port (else tasks stay queued).
        dag = "qbo_customers_to_crm"
        wait_for("the DAG to be parsed", lambda: api.get(f"{base}/api/v2/dags/{dag}", timeout=10).ok)
        api.patch(f"{base}/api/v2/dags/{dag}", json={"is_paused": False}, timeout=30).raise_for_status()
        run = api.post(f"{base}/api/v2/dags/{dag}/dagRuns", json={"logical_date": None}, timeout=30)
        run.raise_for_status()
        run_id = run.json()["dag_run_id"]

        def integrations_task_state() -> str | None:
            tis = api.get(f"{base}/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances", timeout=10).json()
            state = {t["task_id"]: t["state"] for t in tis["task_instances"]}.get("integrations")
            return state if state in ("success", "failed", "up_for_retry") else None

        assert wait_for("the integrations task to finish", integrations_task_state) == "success"
    finally:
        stopped = processes.stop_owned(data_dir)
        log.close()

    assert "airflow" in stopped and "airflow-scheduler" in stopped and "airflow-api-server" in stopped
    assert driver.wait(timeout=30) is not None
    assert processes.owned_processes(data_dir) == []
    assert not processes.port_answers(port)


def test_the_demo_migrates_an_airflow_db_that_exists_but_is_not_migrated(tmp_path: Path) -> None:
    """What an earlier test run used to leave in .airflow: an empty airflow.db."""
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "airflow.db").touch()
    env = dict(os.environ) | {"AIRFLOW_HOME": str(home),
                              "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    assert not airflow_components.metadata_db_current(env, tmp_path / "check.log")
    assert airflow_components.ensure_metadata_db(env, tmp_path) is True
    assert airflow_components.metadata_db_current(env, tmp_path / "check.log")
    assert airflow_components.ensure_metadata_db(env, tmp_path) is False
