"""Airflow on this machine for `make demo` and `make up`: its metadata database, its login file, and
its components run in the foreground.

`make up` starts the components `airflow standalone` would (scheduler, dag-processor, triggerer,
api-server), but itself, so that:

- the API server listens on 127.0.0.1 at ``AIRFLOW_PORT`` (``[api] host``/``port``) and task
  processes find the execution API there (``[core] execution_api_server_url``);
- no log server is started (``--skip-serve-logs``): Airflow 3.3's serve-logs binds every interface
  with no setting for the address, on fixed ports (8793, 8794) that two stacks on one machine would
  share. Everything runs on one machine, so the API server reads task logs from ``AIRFLOW_HOME/logs``;
- every component carries this checkout's owner token, so `make down` stops them with everything
  they spawned (see ``processes``);
- files Airflow creates (the generated password file above all) are private to the user.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import requests

from qbo_crm_sync.config import PROJECT_ROOT
from qbo_crm_sync.local import airflow_url, processes

COMPONENTS: dict[str, list[str]] = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "api-server": ["api-server"],
}
SUPERVISOR = "airflow"
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"


def airflow_executable() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def component_env(env: dict[str, str]) -> dict[str, str]:
    """Airflow's processes must find this virtualenv's ``airflow`` and Python first."""
    bin_dir = str(Path(sys.executable).parent)
    return env | {"PATH": bin_dir + os.pathsep + env.get("PATH", os.defpath)}


def run_airflow(args: list[str], env: dict[str, str], log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        return subprocess.call([airflow_executable(), *args], cwd=PROJECT_ROOT, env=component_env(env),
                               stdout=fh, stderr=subprocess.STDOUT)


def metadata_db_current(env: dict[str, str], log: Path) -> bool:
    """Airflow's own answer: is its metadata database at the migration head of this version?"""
    return run_airflow(["db", "check-migrations", "--migration-wait-timeout", "0"], env, log) == 0


def ensure_metadata_db(env: dict[str, str], logs: Path) -> bool:
    """Migrate Airflow's metadata database unless it is at head already; True when it migrated.

    The schema is checked, not the file: an empty or older ``airflow.db`` needs migrating too.
    """
    if metadata_db_current(env, logs / "airflow-db-check.log"):
        return False
    if run_airflow(["db", "migrate"], env, logs / "airflow-db-migrate.log"):
        raise SystemExit(f"airflow db migrate failed: see {logs / 'airflow-db-migrate.log'}")
    return True


def private_password_file(home: Path) -> Path:
    """The simple auth manager's generated password file, created (or narrowed) to mode 0600.

    The auth manager opens it for appending, which keeps the mode of an existing file.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / PASSWORD_FILE
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    return path


class Supervisor:
    """The Airflow components in the foreground: their output prefixed, stopped together."""

    def __init__(self, env: dict[str, str], data_dir: Path, port: int) -> None:
        self.env = component_env(env)
        self.data_dir = data_dir
        self.port = port
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()
        self.print_lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        with self.print_lock:
            print(f"{name:<13}| {line}", flush=True)

    def _relay(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.say(name, raw.decode(errors="replace").rstrip())

    def _refuse_if_running(self) -> None:
        for name in (SUPERVISOR, *(f"airflow-{c}" for c in COMPONENTS)):
            found = processes.recorded_process(self.data_dir, name)
            if found is not None and found[1].pid != os.getpid():
                raise SystemExit(f"This checkout's Airflow is already running (pid {found[1].pid}): "
                                 "`make down` stops it.")
        if processes.port_answers(self.port):
            from qbo_crm_sync.local.stack import port_taken_message

            raise SystemExit(port_taken_message("Airflow", self.port, airflow_url.PORT_VARIABLE))

    def start(self) -> None:
        self._refuse_if_running()
        processes.record_self(self.data_dir, SUPERVISOR, self.port)
        os.umask(0o077)
        for name, args in COMPONENTS.items():
            proc = processes.launch(self.data_dir, f"airflow-{name}", [airflow_executable(), *args],
                                    env=self.env, cwd=PROJECT_ROOT)
            self.procs[name] = proc
            threading.Thread(target=self._relay, args=(name, proc), daemon=True).start()

    def ready(self) -> bool:
        try:
            return requests.get(f"http://{airflow_url.LISTEN_HOST}:{self.port}/api/v2/version", timeout=2).ok
        except requests.RequestException:
            return False

    def airflow_processes(self) -> list[psutil.Process]:
        """Every process of this checkout but the emulators (and this one)."""
        for proc in self.procs.values():
            proc.poll()  # reap the components that ended, so that they leave the process table
        emulators = {r.pid for r in processes.records(self.data_dir) if not r.name.startswith("airflow")}
        return [p for p in processes.owned_processes(self.data_dir) if p.pid not in emulators]

    def stop(self) -> None:
        self.say("up", "stopping the Airflow components")
        processes.stop_processes(self.airflow_processes)
        for name in (SUPERVISOR, *(f"airflow-{c}" for c in COMPONENTS)):
            processes.forget(self.data_dir, name)

    def run(self, banner: str) -> int:
        """Start, print ``banner`` once the API server answers, wait for a signal or a failure."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        self.start()
        shown = False
        code = 0
        while not self.stopping.wait(0.5):
            if not shown and self.ready():
                self.say("up", banner)
                shown = True
            ended = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
            # A `make down` signals the components too: one may end before this process hears of it.
            if ended and not self.stopping.wait(1):
                for name, rc in ended.items():
                    self.say("up", f"{name} exited with code {rc}: stopping the others")
                code = 1
                break
        self.stop()
        return code


def serve(env: dict[str, str], data_dir: Path, port: int, banner: str) -> int:
    return Supervisor(env, data_dir, port).run(banner)

