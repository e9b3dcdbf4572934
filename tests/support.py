"""Test plumbing shared by the suites: a PostgreSQL to test against and emulator processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def test_database() -> Iterator[str]:
    """A fresh, empty database: on SYNC_TEST_DATABASE_URL's server when set, else embedded."""
    server_url = os.environ.get("SYNC_TEST_DATABASE_URL")
    if not server_url:
        import tempfile

        import pgserver

        with tempfile.TemporaryDirectory(prefix="qbo-crm-sync-pg-") as data_dir:
            server = pgserver.get_server(data_dir, cleanup_mode="stop")
            try:
                yield server.get_uri()
            finally:
                server.cleanup()
        return
    name = f"qbo_crm_sync_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield str(psycopg.conninfo.make_conninfo(server_url, dbname=name))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def emulator_process(module: str, *args: str) -> Iterator[str]:
    """Run ``python -m <module> --port N`` and yield its base URL once it answers."""
    port = free_port()
    env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/_admin/state", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{module} exited: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not answer on {base} within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
