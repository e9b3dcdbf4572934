"""Start (or reuse) what a local run needs, and the environment Airflow processes need to use it.

Everything lives under ``<repo>/.data``: the embedded database, the Fernet key, emulator logs and
pid files. Processes are detached so a second ``make demo`` finds them and their state again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from qbo_crm_sync.config import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / ".data"
QBO_PORT = int(os.environ.get("QBO_EMULATOR_PORT", "8801"))
HL_PORT = int(os.environ.get("HL_EMULATOR_PORT", "8802"))
QBO_CLIENT_ID = "demo-client-id"
QBO_CLIENT_SECRET = "demo-client-secret"
HL_TOKEN = "demo-hl-token"
REDIRECT_URI = "http://localhost:8080/qb-connect/callback"


@dataclass(frozen=True)
class Stack:
    database_url: str
    fernet_key: str
    qbo_url: str
    highlevel_url: str

    def env(self) -> dict[str, str]:
        """Variables for the CLI, `airflow dags test` and `airflow standalone`."""
        airflow_home = Path(os.environ.get("AIRFLOW_HOME", PROJECT_ROOT / ".airflow"))
        return {
            "SYNC_DATABASE_URL": self.database_url,
            "SYNC_FERNET_KEY": self.fernet_key,
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]),
            "GX_ANALYTICS_ENABLED": "false",
            "NO_PROXY": "localhost,127.0.0.1",
            "AIRFLOW_CONN_QUICKBOOKS_DEFAULT": json.dumps({
                "conn_type": "quickbooks",
                "login": QBO_CLIENT_ID,
                "password": QBO_CLIENT_SECRET,
                "extra": {"base_url": self.qbo_url, "oauth_base_url": self.qbo_url, "redirect_uri": REDIRECT_URI},
            }),
            "AIRFLOW_CONN_HIGHLEVEL_DEFAULT": json.dumps({
                "conn_type": "highlevel",
                "password": HL_TOKEN,
                "extra": {"base_url": self.highlevel_url},
            }),
        }

    def apply(self) -> None:
        os.environ.update(self.env())


def database_url() -> str:
    """SYNC_DATABASE_URL when set; otherwise an embedded PostgreSQL under .data/pg."""
    url = os.environ.get("SYNC_DATABASE_URL")
    if url:
        return url
    from qbo_crm_sync.store.embedded import ensure_embedded

    return ensure_embedded(DATA_DIR / "pg")


def fernet_key() -> str:
    """SYNC_FERNET_KEY when set; otherwise a key generated once into .data/fernet.key (mode 0600)."""
    key = os.environ.get("SYNC_FERNET_KEY")
    if key:
        return key
    path = DATA_DIR / "fernet.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/_admin/state", timeout=1).ok
    except requests.RequestException:
        return False


def start_emulator(module: str, port: int, name: str) -> str:
    """Reuse the emulator answering on ``port``, or start it detached; logs in .data/logs."""
    base = f"http://127.0.0.1:{port}"
    if _answers(base):
        return base
    (DATA_DIR / "logs").mkdir(parents=True, exist_ok=True)
    (DATA_DIR / "run").mkdir(parents=True, exist_ok=True)
    log = open(DATA_DIR / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    (DATA_DIR / "run" / f"{name}.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + 30
    while not _answers(base):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} emulator did not start on port {port}: see {DATA_DIR / 'logs' / name}.log")
        time.sleep(0.2)
    return base


def up() -> Stack:
    """Database, key and both emulators, started or reused."""
    stack = Stack(
        database_url=database_url(),
        fernet_key=fernet_key(),
        qbo_url=start_emulator("emulators.quickbooks", QBO_PORT, "quickbooks"),
        highlevel_url=start_emulator("emulators.highlevel", HL_PORT, "highlevel"),
    )
    stack.apply()
    return stack


def stop() -> None:
    """Stop the detached emulators and the embedded database."""
    for pid_file in (DATA_DIR / "run").glob("*.pid") if (DATA_DIR / "run").exists() else []:
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)
    if (DATA_DIR / "pg").exists():
        from qbo_crm_sync.store.embedded import stop_embedded

        stop_embedded(DATA_DIR / "pg")
