"""Fixtures for the QB Connect page: the plugin's app and root middleware installed as Airflow's
api-server installs them (with its access log), real Airflow JWTs from the configured auth manager,
the real store and both emulators."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qbo_crm_sync.local.sandbox import crm_location
from tests.integration.conftest import HL_TOKEN, QBO_CLIENT_ID, QBO_CLIENT_SECRET, REDIRECT_URI

PREFIX = "/qb-connect"
LOCATION = "ve9EPM428h8vShlRW1KT"
OTHER_LOCATION = "otherLocation0000001"
OTHER_CONN_ID = "highlevel_uptown"  # the connection holding OTHER_LOCATION's own CRM token


@pytest.fixture(scope="session")
def auth_manager() -> Iterator[object]:
    """Airflow's auth manager, initialised as the api-server does (tokens are checked against the
    revoked-token table of the metadata database, so that table must exist)."""
    from airflow import settings
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.models.revoked_token import RevokedToken

    with pytest.MonkeyPatch.context() as mp:
        # A signing key of the length a deployment sets, instead of Airflow's short stand-in.
        mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        RevokedToken.__table__.create(settings.engine, checkfirst=True)
        yield init_auth_manager()


@pytest.fixture
def make_token(auth_manager) -> Callable[..., str]:
    """A JWT signed by Airflow for a user of the simple auth manager, as POST /auth/token issues."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def make(username: str = "admin", role: str = "admin") -> str:
        return auth_manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role))

    return make


@pytest.fixture
def web_env(monkeypatch: pytest.MonkeyPatch, db_url: str, qbo: str, highlevel: str, fernet_key: str) -> str:
    """What `make up` gives the api-server: store URL, Fernet key, QuickBooks and CRM connections;
    the CRM knows the locations the tests connect."""
    monkeypatch.setenv("SYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("SYNC_FERNET_KEY", fernet_key)
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps({
        "conn_type": "quickbooks",
        "login": QBO_CLIENT_ID,
        "password": QBO_CLIENT_SECRET,
        "extra": {"base_url": qbo, "oauth_base_url": qbo, "redirect_uri": REDIRECT_URI},
    }))
    # Each CRM location has its own token: the default connection holds the first one's, the other
    # location is reached through a connection of its own.
    monkeypatch.setenv("AIRFLOW_CONN_HIGHLEVEL_DEFAULT", json.dumps({
        "conn_type": "highlevel", "password": HL_TOKEN, "extra": {"base_url": highlevel}}))
    crm_location(highlevel, LOCATION, token=HL_TOKEN, name="Main Street Dental")
    uptown = crm_location(highlevel, OTHER_LOCATION, name="Uptown Dental")
    monkeypatch.setenv(f"AIRFLOW_CONN_{OTHER_CONN_ID.upper()}", json.dumps({
        "conn_type": "highlevel", "password": uptown, "extra": {"base_url": highlevel}}))
    return qbo


@pytest.fixture
def web_app(web_env: str) -> FastAPI:
    """The api-server's shape: the plugin's app mounted under its prefix, the plugin's root
    middleware, Airflow's access log outermost (as create_app adds it last)."""
    from airflow.api_fastapi.app import init_access_logging
    from qbo_crm_sync_plugin import QboCrmSyncPlugin

    root = FastAPI()
    for spec in QboCrmSyncPlugin.fastapi_apps:
        root.mount(spec["url_prefix"], spec["app"])
    for spec in QboCrmSyncPlugin.fastapi_root_middlewares:
        root.add_middleware(spec["middleware"], *spec["args"], **spec["kwargs"])
    init_access_logging(root)
    return root


@pytest.fixture
def anonymous(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def browser(web_app: FastAPI, make_token) -> Callable[..., TestClient]:
    """A logged-in browser: the JWT in the `_token` cookie, as the Airflow UI keeps it."""
    clients: list[TestClient] = []

    def make(username: str = "admin", role: str = "admin") -> TestClient:
        client = TestClient(web_app, follow_redirects=False)
        client.cookies.set("_token", make_token(username, role))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def admin(browser) -> TestClient:
    return browser()


def csrf_of(client: TestClient) -> str:
    """Open the page (which starts the browser session) and read the form token from it."""
    page = client.get(f"{PREFIX}/")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF token on the page"
    return found.group(1)


def flash_of(client: TestClient) -> str:
    """The one-shot message the next page shows (at the top, or in an integration's card)."""
    page = client.get(f"{PREFIX}/")
    found = re.search(r'<div class="flash (ok|error)"(?: id="result-\d+")? role="status">(.*?)</div>', page.text, re.S)
    return f"{found.group(1)}: {found.group(2)}" if found else ""
