"""The Airflow plugin loads in Airflow's own plugins manager: no import errors, the QB Connect app
mounted under /qb-connect and its menu entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from airflow import plugins_manager
plugins, errors = plugins_manager._get_plugins()
apps, middlewares = plugins_manager.get_fastapi_plugins()
info = {p["name"]: p for p in plugins_manager.get_plugin_info()}
print(json.dumps({
    "plugins": [p.name for p in plugins],
    "errors": errors,
    "apps": [{"name": a["name"], "url_prefix": a["url_prefix"], "type": type(a["app"]).__name__} for a in apps],
    "views": info["qbo_crm_sync"]["external_views"],
    "middlewares": [m["name"] for m in middlewares],
}))
"""


def test_plugins_manager_loads_the_plugin_without_errors() -> None:
    env = os.environ | {
        "AIRFLOW_HOME": tempfile.mkdtemp(prefix="qbo-crm-sync-plugins-"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
    }
    # A fresh interpreter: the plugins manager caches what it loaded once per process.
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert "qbo_crm_sync" in loaded["plugins"]
    assert {"name": "QB Connect", "url_prefix": "/qb-connect", "type": "FastAPI"} in loaded["apps"]
    # What /api/v2/plugins hands the UI for its Admin menu: a page inside Airflow's own navigation.
    assert loaded["views"] == [{"name": "QB Connect", "href": "/qb-connect/", "url_route": "qb-connect",
                                "category": "admin", "destination": "nav"}]
    assert loaded["middlewares"] == ["QB Connect prefix"]
