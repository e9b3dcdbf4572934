"""`python -m qbo_crm_sync`: migrate, connect through the OAuth code flow, list, set, disconnect; the
location checked the way the QB Connect page checks it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from qbo_crm_sync.local.sandbox import crm_location
from qbo_crm_sync.local.stack import HL_TOKEN

ROOT = Path(__file__).resolve().parents[2]


LOCATION = "locCli000000000000001"


@pytest.fixture
def cli_env(db_url: str, qbo: str, highlevel: str, tmp_path: Path) -> dict[str, str]:
    crm_location(highlevel, LOCATION, token=HL_TOKEN, name="Cli Bakery")  # highlevel_default's token
    return os.environ | {
        "PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT}",
        "SYNC_DATABASE_URL": db_url,
        "SYNC_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW_CONN_QUICKBOOKS_DEFAULT": json.dumps({
            "conn_type": "quickbooks", "login": "demo-client-id", "password": "demo-client-secret",
            "extra": {"base_url": qbo, "oauth_base_url": qbo, "redirect_uri": "http://localhost:8080/qb-connect/callback"},
        }),
        "AIRFLOW_CONN_HIGHLEVEL_DEFAULT": json.dumps({
            "conn_type": "highlevel", "password": "demo-hl-token", "extra": {"base_url": highlevel}}),
        "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "postgres", "host": "db"}),
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qbo_crm_sync", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_connect_list_set_disconnect(cli_env: dict[str, str], qbo: str) -> None:
    assert cli(cli_env, "db", "migrate").returncode == 0

    connected = cli(cli_env, "integrations", "connect", "--location-id", LOCATION, "--no-input")
    assert connected.returncode == 0, connected.stderr
    assert "connected: integration" in connected.stdout and "Cli Bakery (locCli000000000000001)" in connected.stdout
    assert "access_token" not in connected.stdout + connected.stderr

    listed = json.loads(cli(cli_env, "integrations", "list", "--json").stdout)
    assert [(i["location_id"], i["status"]) for i in listed] == [(LOCATION, "connected")]
    integration_id, realm = str(listed[0]["id"]), listed[0]["realm_id"]
    company = requests.get(f"{qbo}/_admin/state", timeout=5).json()["realms"][realm]["CompanyName"]
    assert listed[0]["company_name"] == company and listed[0]["connected_by"].endswith("(command line)")
    assert company in cli(cli_env, "integrations", "list").stdout

    changed = cli(cli_env, "integrations", "set", integration_id, "auto_send_review=true",
                  "review_link=https://g.page/r/cli/review", "tax_mode=fold_into_lines")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["auto_send_review"] is True

    refused = cli(cli_env, "integrations", "set", integration_id, "no_such_setting=1")
    assert refused.returncode == 2 and "no_such_setting" in refused.stderr
    refused = cli(cli_env, "integrations", "set", integration_id, "crm_conn_id=warehouse")
    assert refused.returncode == 2 and "is of type 'postgres', not 'highlevel'" in refused.stderr

    grants_before = requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"]
    gone = cli(cli_env, "integrations", "disconnect", integration_id)
    assert gone.returncode == 0, gone.stderr
    assert requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"] < grants_before
    listed = json.loads(cli(cli_env, "integrations", "list", "--json").stdout)
    assert listed[0]["status"] == "disconnected" and listed[0]["realm_id"] == realm
    assert listed[0]["disconnected_by"].endswith("(command line)")


@pytest.mark.parametrize("location_id", ["<b>x</b>", "a b", "x" * 65, "loc/../admin"])
def test_connect_refuses_what_the_page_refuses(cli_env: dict[str, str], db_url: str, qbo: str, location_id: str) -> None:
    assert cli(cli_env, "db", "migrate").returncode == 0
    refused = cli(cli_env, "integrations", "connect", "--location-id", location_id, "--no-input")
    assert refused.returncode == 2 and "Enter the HighLevel location id" in refused.stderr
    assert json.loads(cli(cli_env, "integrations", "list", "--json").stdout) == []
    assert requests.get(f"{qbo}/_admin/requests", params={"path": "/oauth2"}, timeout=5).json()["count"] == 0


def test_connect_needs_the_crm_to_confirm_the_location(cli_env: dict[str, str]) -> None:
    assert cli(cli_env, "db", "migrate").returncode == 0
    unknown = cli(cli_env, "integrations", "connect", "--location-id", "unknownLocation00001", "--no-input")
    assert unknown.returncode == 2 and "The CRM refused the token of connection 'highlevel_default' for location unknownLocation00001" in unknown.stderr
    wrong_type = cli(cli_env, "integrations", "connect", "--location-id", LOCATION, "--crm-conn-id", "warehouse",
                     "--no-input")
    assert wrong_type.returncode == 2 and "not 'highlevel'" in wrong_type.stderr
    assert json.loads(cli(cli_env, "integrations", "list", "--json").stdout) == []


def test_connecting_a_connected_location_again_needs_yes(cli_env: dict[str, str], qbo: str) -> None:
    assert cli(cli_env, "db", "migrate").returncode == 0
    assert cli(cli_env, "integrations", "connect", "--location-id", LOCATION, "--no-input").returncode == 0
    again = cli(cli_env, "integrations", "connect", "--location-id", LOCATION, "--no-input")
    assert again.returncode == 2 and "already connected: add --yes" in again.stderr
    assert f"warning: location {LOCATION} is connected to QuickBooks company" in again.stderr
    assert requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"] == 1
    renewed = cli(cli_env, "integrations", "connect", "--location-id", LOCATION, "--no-input", "--yes")
    assert renewed.returncode == 0, renewed.stderr
    # The renewed grant replaced the old one at Intuit.
    assert requests.get(f"{qbo}/_admin/state", timeout=5).json()["grants"] == 1


def test_missing_configuration_is_named(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k != "SYNC_FERNET_KEY"}
    result = cli(env, "integrations", "connect", "--location-id", LOCATION, "--no-input")
    assert result.returncode == 2 and "SYNC_FERNET_KEY" in result.stderr
    env = {k: v for k, v in cli_env.items() if k != "AIRFLOW_CONN_QUICKBOOKS_DEFAULT"}
    result = cli(env, "integrations", "connect", "--location-id", LOCATION, "--no-input")
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
