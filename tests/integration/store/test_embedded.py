from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from qbo_crm_sync.store.embedded import ensure_embedded, is_running, stop_embedded

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[3]


def test_the_embedded_server_outlives_its_starter_and_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    env = os.environ | {"PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT}"}
    try:
        started = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from qbo_crm_sync.store.embedded import ensure_embedded; print(ensure_embedded({str(data_dir)!r}))",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )
        url = started.stdout.strip().splitlines()[-1]
        assert is_running(data_dir)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert ensure_embedded(data_dir) == url
    finally:
        stopped = stop_embedded(data_dir)
    assert stopped and not is_running(data_dir)
    assert stop_embedded(data_dir) is False
