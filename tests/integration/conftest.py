"""Fixtures for integration tests: app credentials read from Airflow connections, a realm connected
through the real OAuth code flow, tokens in the real store."""

from __future__ import annotations

import json

import pytest
import requests
from airflow.sdk import Connection
from cryptography.fernet import Fernet

from qbo_crm_sync.hooks.highlevel import HighLevelSettings
from qbo_crm_sync.hooks.quickbooks import QuickBooksHook, QuickBooksSettings, authorization_url, exchange_code
from qbo_crm_sync.store import db
from qbo_crm_sync.store.tokens import TokenStore

QBO_CLIENT_ID = "demo-client-id"
QBO_CLIENT_SECRET = "demo-client-secret"
HL_TOKEN = "demo-hl-token"
REDIRECT_URI = "http://localhost:8080/qb-connect/callback"


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def token_store(db_url: str, fernet_key: str) -> TokenStore:
    return TokenStore(lambda: db.connect(db_url), fernet_key)


@pytest.fixture
def qbo_settings(qbo: str) -> QuickBooksSettings:
    """Settings read the way a deployment reads them: from an Airflow connection."""
    conn = Connection(
        conn_id="quickbooks_default",
        conn_type="quickbooks",
        login=QBO_CLIENT_ID,
        password=QBO_CLIENT_SECRET,
        extra=json.dumps({"base_url": qbo, "oauth_base_url": qbo, "redirect_uri": REDIRECT_URI}),
    )
    return QuickBooksSettings.from_connection(conn)


def connect_realm(settings: QuickBooksSettings, store: TokenStore) -> str:
    """The OAuth code flow a user goes through, without the browser."""
    consent = requests.get(authorization_url(settings, "state-xyz"), allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    realm_id, _ = exchange_code(settings, consent.headers["Location"], store, expected_state="state-xyz")
    return realm_id


@pytest.fixture
def realm(qbo_settings: QuickBooksSettings, token_store: TokenStore) -> str:
    return connect_realm(qbo_settings, token_store)


@pytest.fixture
def hook(realm: str, token_store: TokenStore, qbo_settings: QuickBooksSettings) -> QuickBooksHook:
    return QuickBooksHook(realm, token_store, settings=qbo_settings)


@pytest.fixture
def hl_settings(highlevel: str) -> HighLevelSettings:
    conn = Connection(
        conn_id="highlevel_default",
        conn_type="highlevel",
        password=HL_TOKEN,
        extra=json.dumps({"base_url": highlevel}),
    )
    return HighLevelSettings.from_connection(conn)


@pytest.fixture
def highlevel_hook_factory(hl_settings: HighLevelSettings):
    from qbo_crm_sync.hooks.highlevel import HighLevelHook

    def make(location_id: str) -> HighLevelHook:
        return HighLevelHook(location_id, settings=hl_settings)

    return make
