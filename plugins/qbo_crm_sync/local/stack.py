"""Start (or reuse) what a local run needs, and the environment Airflow processes need to use it.

Everything lives under ``<repo>/.data``: the embedded database, the Fernet key, emulator logs, pid
files and the owner token of this checkout (see ``processes``). Processes are detached so a second
``make demo`` finds them and their state again; only processes this checkout started are reused.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from qbo_crm_sync.config import PROJECT_ROOT
from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.local import airflow_url, processes

DATA_DIR = PROJECT_ROOT / ".data"
QBO_CLIENT_ID = "demo-client-id"
QBO_CLIENT_SECRET = "demo-client-secret"
HL_TOKEN = "demo-hl-token"
# The redirect URI at the default port (tests and the sandbox); the stack uses airflow_url's.
REDIRECT_URI = airflow_url.redirect_uri(airflow_url.DEFAULT_PORT)
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


@dataclass(frozen=True)
class Emulator:
    name: str
    label: str
    module: str
    port_variable: str
    default_port: int

    def port(self) -> int:
        return airflow_url.port_from_env(self.port_variable, self.default_port)

    @property
    def other(self) -> Emulator:
        return HIGHLEVEL if self is QUICKBOOKS else QUICKBOOKS


QUICKBOOKS = Emulator("quickbooks", "QuickBooks emulator", "emulators.quickbooks", "QBO_EMULATOR_PORT", 8801)
HIGHLEVEL = Emulator("highlevel", "HighLevel emulator", "emulators.highlevel", "HL_EMULATOR_PORT", 8802)


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow")


@dataclass(frozen=True)
class Stack:
    database_url: str
    fernet_key: str
    qbo_url: str
    highlevel_url: str

    def env(self) -> dict[str, str]:
        """Variables for the CLI, `airflow dags test` and the Airflow components of `make up`."""
        home = airflow_home()
        port = airflow_url.airflow_port()
        return {
            "SYNC_DATABASE_URL": self.database_url,
            "SYNC_FERNET_KEY": self.fernet_key,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            # The API server on the loopback interface, at AIRFLOW_PORT; task processes reach it there.
            "AIRFLOW__API__HOST": airflow_url.LISTEN_HOST,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": airflow_url.execution_api_url(port),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": airflow_url.LISTEN_HOST,
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
            "GX_ANALYTICS_ENABLED": "false",
            "NO_PROXY": "localhost,127.0.0.1",
            "AIRFLOW_CONN_QUICKBOOKS_DEFAULT": json.dumps({
                "conn_type": "quickbooks",
                "login": QBO_CLIENT_ID,
                "password": QBO_CLIENT_SECRET,
                "extra": {"base_url": self.qbo_url, "oauth_base_url": self.qbo_url,
                          "redirect_uri": airflow_url.redirect_uri(port)},
            }),
            "AIRFLOW_CONN_HIGHLEVEL_DEFAULT": json.dumps({
                "conn_type": "highlevel",
                "password": HL_TOKEN,
                "extra": {"base_url": self.highlevel_url},
            }),
        }

    def apply(self) -> None:
        os.environ.update(self.env())


def database_url(data_dir: Path = DATA_DIR) -> str:
    """SYNC_DATABASE_URL when set; otherwise an embedded PostgreSQL under .data/pg."""
    url = os.environ.get("SYNC_DATABASE_URL")
    if url:
        return url
    from qbo_crm_sync.store.embedded import ensure_embedded

    return ensure_embedded(data_dir / "pg")


def fernet_key(data_dir: Path = DATA_DIR) -> str:
    """SYNC_FERNET_KEY when set; otherwise a key generated once into .data/fernet.key (mode 0600)."""
    key = os.environ.get("SYNC_FERNET_KEY")
    if key:
        return key
    path = data_dir / "fernet.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/_admin/state", timeout=1).ok
    except requests.RequestException:
        return False


class PortTaken(ConfigurationError):
    """A port the local stack needs is held by a process this checkout did not start."""


def port_taken_message(what: str, port: int, variable: str, extra: str = "") -> str:
    """Who holds ``port`` and how to choose another one."""
    holder = processes.describe_listener(port)
    other = processes.free_port_near(port) or "<a free port>"
    return (f"{what}: port {port} is taken by {holder}, which this checkout did not start. Stop that, "
            f"or choose another port for this checkout: `export {variable}={other}`, then run the command "
            f"again{extra}.")


def refuse_foreign_listener(emulator: Emulator, data_dir: Path = DATA_DIR) -> None:
    """PortTaken when something this checkout did not start answers on the emulator's port."""
    port = emulator.port()
    if processes.recorded_process(data_dir, emulator.name) is None and processes.port_answers(port):
        raise PortTaken(port_taken_message(
            emulator.label, port, emulator.port_variable,
            f" ({emulator.other.port_variable} moves the {emulator.other.label})"))


def start_emulator(emulator: Emulator, data_dir: Path = DATA_DIR) -> str:
    """The emulator this checkout started, when it still runs; else start it detached.

    Whatever else answers on the port (another checkout's emulator, any other program) is refused:
    it would receive this checkout's data.
    """
    port = emulator.port()
    base = f"http://127.0.0.1:{port}"
    ours = processes.recorded_process(data_dir, emulator.name)
    if ours is not None:
        record, process = ours
        if record.port == port and processes.listens_on(process, port) and _answers(base):
            return base
        if record.port != port:
            raise ConfigurationError(
                f"This checkout's {emulator.label} runs on port {record.port} (pid {process.pid}), not "
                f"{port}: `make down` first to move it (its data is kept only while it runs).")
        # Ours, but not serving (still starting, or wedged): replace it.
        processes.stop_recorded(data_dir, emulator.name)
    refuse_foreign_listener(emulator, data_dir)
    log = data_dir / "logs" / f"{emulator.name}.log"
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)])}
    proc = processes.launch(
        data_dir, emulator.name, [sys.executable, "-m", emulator.module, "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=PROJECT_ROOT, log=log, port=port)
    deadline = time.monotonic() + 30
    while not (_answers(base) and processes.listens_on(psutil.Process(proc.pid), port)):
        if proc.poll() is not None or time.monotonic() > deadline:
            processes.stop_recorded(data_dir, emulator.name)
            if processes.port_answers(port):
                raise PortTaken(port_taken_message(emulator.label, port, emulator.port_variable))
            raise RuntimeError(f"{emulator.label} did not start on port {port}: see {log}")
        time.sleep(0.2)
    return base


def up(data_dir: Path = DATA_DIR) -> Stack:
    """Database, key and both emulators, started or reused."""
    for emulator in (QUICKBOOKS, HIGHLEVEL):  # before starting anything
        refuse_foreign_listener(emulator, data_dir)
    stack = Stack(
        database_url=database_url(data_dir),
        fernet_key=fernet_key(data_dir),
        qbo_url=start_emulator(QUICKBOOKS, data_dir),
        highlevel_url=start_emulator(HIGHLEVEL, data_dir),
    )
    stack.apply()
    return stack


def _stop_unrecorded_emulators(data_dir: Path) -> list[str]:
    """Emulators recorded by bare pid files (before records carried a start time and an owner
    token): stopped when they still run this checkout's emulator module."""
    stopped = []
    for pid_file in sorted((data_dir / "run").glob("*.pid")) if (data_dir / "run").exists() else []:
        try:
            process = psutil.Process(int(pid_file.read_text()))
            if process.cwd() == str(PROJECT_ROOT) and any(a.startswith("emulators.") for a in process.cmdline()):
                process.terminate()
                process.wait(10)
                stopped.append(pid_file.stem)
        except (psutil.Error, ValueError, OSError):
            pass
        pid_file.unlink(missing_ok=True)
    return stopped


def stop(data_dir: Path = DATA_DIR) -> list[str]:
    """Stop everything this checkout started (Airflow with its workers, the emulators), then the
    embedded database. Answers what was stopped."""
    stopped = processes.stop_owned(data_dir) + _stop_unrecorded_emulators(data_dir)
    if (data_dir / "pg").exists():
        from qbo_crm_sync.store.embedded import stop_embedded

        if stop_embedded(data_dir / "pg"):
            stopped.append("embedded PostgreSQL")
    return stopped
