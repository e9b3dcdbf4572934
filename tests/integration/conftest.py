"""Fixtures for integration tests: app credentials read from Airflow connections, an integration
connected through the real OAuth code flow, its tokens in the real store (qbo_crm_sync.local.sandbox)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from qbo_crm_sync.hooks.highlevel import HighLevelSettings
from qbo_crm_sync.hooks.quickbooks import QuickBooksHook, QuickBooksSettings
from qbo_crm_sync.local.sandbox import connect_integration, highlevel_settings, quickbooks_settings
from qbo_crm_sync.local.stack import HL_TOKEN, QBO_CLIENT_ID, QBO_CLIENT_SECRET, REDIRECT_URI
from qbo_crm_sync.store import db
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.tokens import TokenStore

__all__ = ["HL_TOKEN", "QBO_CLIENT_ID", "QBO_CLIENT_SECRET", "REDIRECT_URI", "connect_integration"]

HOOK_LOCATION = "locHookTests000000001"


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def token_store(db_url: str, fernet_key: str) -> TokenStore:
    return TokenStore(lambda: db.connect(db_url), fernet_key)


@pytest.fixture
def qbo_settings(qbo: str) -> QuickBooksSettings:
    """Settings read the way a deployment reads them: from an Airflow connection."""
    return quickbooks_settings(qbo)


@pytest.fixture
def qbo_integration(qbo_settings: QuickBooksSettings, token_store: TokenStore, db_url: str) -> Integration:
    """An integration connected through the OAuth code flow; its grant is in ``token_store``."""
    return connect_integration(qbo_settings, token_store, db_url, HOOK_LOCATION)


@pytest.fixture
def realm(qbo_integration: Integration) -> str:
    return qbo_integration.realm_id


@pytest.fixture
def hook(qbo_integration: Integration, token_store: TokenStore, qbo_settings: QuickBooksSettings) -> QuickBooksHook:
    return QuickBooksHook(qbo_integration.realm_id, token_store, settings=qbo_settings,
                          token_key=qbo_integration.id)


@pytest.fixture
def hl_settings(highlevel: str) -> HighLevelSettings:
    return highlevel_settings(highlevel)
