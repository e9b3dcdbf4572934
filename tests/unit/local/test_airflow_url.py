"""AIRFLOW_PORT moves everything that names Airflow's address together; the OAuth flow stays on one host."""

from __future__ import annotations

import json

import pytest

from qbo_crm_sync.errors import ConfigurationError
from qbo_crm_sync.local import airflow_url
from qbo_crm_sync.local.stack import Stack


def stack_env() -> dict[str, str]:
    return Stack("postgresql://u@h/db", "key", "http://127.0.0.1:1", "http://127.0.0.1:2").env()


def test_airflow_port_sets_the_api_server_the_execution_api_and_the_redirect_uri(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_PORT", "18123")
    env = stack_env()
    assert env["AIRFLOW__API__PORT"] == "18123"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    extra = json.loads(env["AIRFLOW_CONN_QUICKBOOKS_DEFAULT"])["extra"]
    assert extra["redirect_uri"] == "http://localhost:18123/qb-connect/callback"
    assert airflow_url.airflow_url() == "http://localhost:18123"


def test_default_port_is_8080(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_PORT", raising=False)
    env = stack_env()
    assert env["AIRFLOW__API__PORT"] == "8080"
    assert json.loads(env["AIRFLOW_CONN_QUICKBOOKS_DEFAULT"])["extra"]["redirect_uri"] == (
        "http://localhost:8080/qb-connect/callback")


@pytest.mark.parametrize("value", ["http", "0", "70000", "80 80"])
def test_a_port_that_is_not_one_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AIRFLOW_PORT", value)
    with pytest.raises(ConfigurationError, match="AIRFLOW_PORT"):
        airflow_url.airflow_port()
