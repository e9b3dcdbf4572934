"""docker-compose.yaml is safe to deploy: no default secrets, nothing published beyond 127.0.0.1, the
emulators only on request and reached by service name, and the official Airflow 3 shape."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yaml"
REQUIRED = re.compile(r"^\$\{(?P<var>[A-Z_]+):\?[^}]+\}$")
WITH_DEFAULT = re.compile(r"^\$\{[A-Z_]+:-(?P<default>.*)\}$", re.S)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def common_env(compose: dict) -> dict[str, str]:
    return compose["x-airflow-common"]["environment"]


def default_json(value: str) -> dict:
    """The JSON default of ``${VAR:-{...}}``, as compose substitutes it (the default ends at the
    first closing brace, the rest follows literally)."""
    match = WITH_DEFAULT.match(value)
    assert match, value
    return json.loads(match.group("default"))


@pytest.mark.parametrize("key", ["AIRFLOW__API_AUTH__JWT_SECRET", "SYNC_FERNET_KEY"])
def test_secrets_are_required_without_a_default(compose: dict, key: str) -> None:
    assert REQUIRED.match(str(common_env(compose)[key])), common_env(compose)[key]


def test_no_service_overrides_the_secrets_with_a_value(compose: dict) -> None:
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "SYNC_FERNET_KEY"):
            assert key not in env or REQUIRED.match(str(env[key])), (name, key)


def test_every_published_port_is_on_127_0_0_1(compose: dict) -> None:
    published = [(name, str(p)) for name, s in compose["services"].items() for p in s.get("ports", [])]
    assert published
    for name, port in published:
        assert port.startswith("127.0.0.1:"), (name, port)


def test_emulators_only_under_their_profile(compose: dict) -> None:
    services = compose["services"]
    assert services["qbo-emulator"]["profiles"] == ["emulators"]
    assert services["hl-emulator"]["profiles"] == ["emulators"]
    always = [n for n, s in services.items() if not s.get("profiles")]
    assert "qbo-emulator" not in always and "hl-emulator" not in always


def test_connections_reach_the_emulators_by_service_name(compose: dict) -> None:
    env = common_env(compose)
    services = compose["services"]
    qbo = default_json(env["AIRFLOW_CONN_QUICKBOOKS_DEFAULT"])["extra"]
    hl = default_json(env["AIRFLOW_CONN_HIGHLEVEL_DEFAULT"])["extra"]
    for url, service in ((qbo["base_url"], "qbo-emulator"), (qbo["oauth_base_url"], "qbo-emulator"),
                         (hl["base_url"], "hl-emulator")):
        assert urlsplit(url).hostname == service and service in services, url
    # The redirect URI is where the user's browser comes back: the published API server.
    assert qbo["redirect_uri"] == "http://localhost:8080/qb-connect/callback"
    assert "127.0.0.1:8080:8080" in services["airflow-apiserver"]["ports"]


def test_the_official_airflow_3_shape(compose: dict) -> None:
    services = compose["services"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                 "airflow-worker", "postgres", "redis"):
        assert "healthcheck" in services[name], name
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                 "airflow-worker"):
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert common_env(compose)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/")


def test_init_prepares_the_mounted_folders_for_the_airflow_user(compose: dict) -> None:
    init = compose["services"]["airflow-init"]
    script = "\n".join(init["command"])
    assert init["user"] == "0:0"
    assert "mkdir -v -p /opt/airflow/{logs,dags,plugins,config,import}" in script
    assert re.search(r'chown -R "\$\$\{uid\}:0" /opt/airflow/logs /opt/airflow/config /opt/airflow/import', script)
    assert "chmod 600 /opt/airflow/config/simple_auth_manager_passwords.json.generated" in script
    passwords = common_env(compose)["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert passwords == "/opt/airflow/config/simple_auth_manager_passwords.json.generated"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_accepts_the_file_and_refuses_it_without_the_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AIRFLOW_JWT_SECRET", "SYNC_FERNET_KEY")}

    def config(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], cwd=tmp_path,
                              env=env | extra, capture_output=True, text=True, timeout=60)

    assert config({"SYNC_FERNET_KEY": "dummy", "AIRFLOW_JWT_SECRET": "dummy"}).returncode == 0
    refused = config({"SYNC_FERNET_KEY": "dummy"})
    assert refused.returncode != 0 and "AIRFLOW_JWT_SECRET" in refused.stderr


def test_the_backfill_import_folder_is_mounted(compose: dict) -> None:
    """CSV backfills read from the import folder the host fills (./import), and write their reports there."""
    volumes = compose["x-airflow-common"]["volumes"]
    assert "${SYNC_IMPORT_HOST_DIR:-./import}:/opt/airflow/import" in volumes
    assert common_env(compose)["SYNC_IMPORT_DIR"] == "/opt/airflow/import"
