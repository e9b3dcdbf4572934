"""`python -m qbo_crm_sync`: migrate, connect through the OAuth code flow, list, set, disconnect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(db_url: str, qbo: str, tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT}",
        "SYNC_DATABASE_URL": db_url,
        "SYNC_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW_CONN_QUICKBOOKS_DEFAULT": json.dumps({
            "conn_type": "quickbooks", "login": "demo-client-id", "password": "demo-client-secret",
            "extra": {"base_url": qbo, "oauth_base_url": qbo, "redirect_uri": "http://localhost:8080/qb-connect/callback"},
        }),
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qbo_crm_sync", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_connect_list_set_disconnect(cli_env: dict[str, str], qbo: str) -> None:
    assert cli(cli_env, "db", "migrate").returncode == 0

    connected = cli(cli_env, "integrations", "connect", "--location-id", "locCli000000000000001", "--no-input")
    assert connected.returncode == 0, connected.stderr
    assert "connected: integration" in connected.stdout
    assert "access_token" not in connected.stdout + connected.stderr

    listed = json.loads(cli(cli_env, "integrations", "list", "--json").stdout)
    assert [(i["location_id"], i["status"]) for i in listed] == [("locCli000000000000001", "connected")]
    integration_id, realm = str(listed[0]["id"]), listed[0]["realm_id"]

    changed = cli(cli_env, "integrations", "set", integration_id, "auto_send_review=true", "tax_mode=fold_into_lines")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["auto_send_review"] is True

    refused = cli(cli_env, "integrations", "set", integration_id, "no_such_setting=1")
    assert refused.returncode == 2 and "no_such_setting" in refused.stderr

    grants_before = requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"]
    gone = cli(cli_env, "integrations", "disconnect", integration_id)
    assert gone.returncode == 0, gone.stderr
    assert requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"] < grants_before
    listed = json.loads(cli(cli_env, "integrations", "list", "--json").stdout)
    assert listed[0]["status"] == "disconnected" and listed[0]["realm_id"] == realm


def test_missing_configuration_is_named(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k != "SYNC_FERNET_KEY"}
    result = cli(env, "integrations", "connect", "--location-id", "x", "--no-input")
    assert result.returncode == 2 and "SYNC_FERNET_KEY" in result.stderr
    env = {k: v for k, v in cli_env.items() if k != "AIRFLOW_CONN_QUICKBOOKS_DEFAULT"}
    result = cli(env, "integrations", "connect", "--location-id", "x", "--no-input")
    assert result.returncode == 2 and "quickbooks_default" in result.stderr
    env = cli_env | {"SYNC_DATABASE_URL": "postgresql://nobody:s3cret@127.0.0.1:1/none"}
    result = cli(env, "integrations", "list")
    assert result.returncode == 2 and "s3cret" not in result.stderr and "127.0.0.1:1" in result.stderr


def test_rows_show_history_and_revive(cli_env: dict[str, str], db_url: str) -> None:
    from qbo_crm_sync.store import db, integrations, tracking

    with db.connect(db_url) as conn:
        integration = integrations.register(conn, "locRows00000000000001", "realm-rows")
        run = tracking.start_run(conn, integration.id, "contacts", tracking.RunContext.manual("cli"))
        for _ in range(tracking.MAX_ATTEMPTS):
            tracking.record(conn, run, integration.id, "contacts",
                            [tracking.Outcome("42", "failed", "CRM refused the contact (422): bad phone", None, "h1")])
        conn.commit()
    iid = str(integration.id)
    shown = json.loads(cli(cli_env, "rows", "show", "--integration", iid, "--flow", "contacts", "--status", "dead").stdout)
    assert [(r["source_id"], r["attempts"]) for r in shown] == [("42", 5)] and "bad phone" in shown[0]["reason"]
    history = json.loads(cli(cli_env, "rows", "show", "--integration", iid, "--flow", "contacts",
                             "--source-id", "42", "--history").stdout)
    assert [h["status"] for h in history] == ["failed"] * 4 + ["dead"]
    revived = cli(cli_env, "rows", "revive", "--integration", iid, "--flow", "contacts", "--why", "phone fixed")
    assert revived.returncode == 0 and "revived 1" in revived.stdout
    shown = json.loads(cli(cli_env, "rows", "show", "--integration", iid, "--flow", "contacts", "--source-id", "42").stdout)
    assert shown[0]["status"] == "failed" and "phone fixed" in shown[0]["reason"]
