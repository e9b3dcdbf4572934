"""Connect and disconnect integrations: the OAuth2 authorization-code flow with Intuit, shared by
the CLI and the QB Connect page."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import requests

from qbo_crm_sync import config
from qbo_crm_sync.errors import AuthError, ConfigurationError
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import Integration
from qbo_crm_sync.store.tokens import TokenStore


def quickbooks_settings(conn_id: str = config.QUICKBOOKS_CONN_ID):
    """QuickBooks app credentials and endpoints from the Airflow connection ``conn_id``."""
    from airflow.sdk import BaseHook

    from qbo_crm_sync.hooks.quickbooks import QuickBooksSettings

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise ConfigurationError(
            f"Airflow connection '{conn_id}' is not defined: set AIRFLOW_CONN_{conn_id.upper()} "
            "or add it in Admin > Connections (type QuickBooks Online)."
        ) from exc
    return QuickBooksSettings.from_connection(conn)


def token_store(url: str | None = None) -> TokenStore:
    url = url or config.database_url()
    return TokenStore(lambda: db.connect(url), config.fernet_key())


def begin(settings, state: str | None = None) -> tuple[str, str]:
    """The Intuit consent URL to send the user to, and the ``state`` to check on the way back."""
    from qbo_crm_sync.hooks.quickbooks import authorization_url

    state = state or secrets.token_urlsafe(24)
    return authorization_url(settings, state), state


def complete(location_id: str, redirect_response: str, expected_state: str, settings, url: str | None = None
             ) -> Integration:
    """Exchange the code in Intuit's redirect for tokens and register the integration."""
    from qbo_crm_sync.hooks.quickbooks import exchange_code

    query = parse_qs(urlsplit(redirect_response).query)
    if "error" in query:
        raise AuthError(f"QuickBooks refused the connection: {query['error'][0]}")
    if query.get("state", [None])[0] != expected_state:
        raise AuthError("The redirect's state does not match this connection attempt; start again.")
    url = url or config.database_url()
    realm_id, _ = exchange_code(settings, redirect_response, token_store(url))
    with db.connect(url) as conn:
        integration = integrations.register(conn, location_id, realm_id)
        conn.commit()
    return integration


def _auto_approved(consent_url: str, redirect_uri: str) -> str | None:
    """A consent page that redirects at once (the local emulator) needs no person: follow it."""
    try:
        answer = requests.get(consent_url, allow_redirects=False, timeout=10)
    except requests.RequestException:
        return None
    location = answer.headers.get("Location", "")
    if answer.is_redirect and location.startswith(redirect_uri) and "code=" in location:
        return location
    return None


def connect(
    location_id: str,
    redirect_response: str | None = None,
    prompt: Callable[[str], str] | None = input,
    out: Callable[[str], None] = print,
    conn_id: str = config.QUICKBOOKS_CONN_ID,
) -> Integration:
    """Run the authorization-code flow for ``location_id`` and register the integration."""
    settings = quickbooks_settings(conn_id)
    consent_url, state = begin(settings)
    if redirect_response is None:
        redirect_response = _auto_approved(consent_url, settings.redirect_uri)
    else:
        # The user brings a redirect from an earlier consent: trust its own state.
        state = parse_qs(urlsplit(redirect_response).query).get("state", [""])[0]
    if redirect_response is None:
        out(f"Open this URL in a browser and approve access:\n\n  {consent_url}\n")
        if prompt is None:
            raise ConfigurationError("Consent needs a person: run again with --redirect-url <the URL you landed on>.")
        redirect_response = prompt("Paste the full URL your browser was redirected to: ").strip()
    return complete(location_id, redirect_response, state, settings)


def disconnect(integration_id: int, conn_id: str = config.QUICKBOOKS_CONN_ID) -> Integration:
    """Revoke the realm's tokens at Intuit, forget them here, and mark the integration disconnected."""
    from qbo_crm_sync.hooks.quickbooks import revoke

    url = config.database_url()
    with db.connect(url) as conn:
        integration = integrations.get(conn, integration_id)
    if integration is None:
        raise ConfigurationError(f"No integration with id {integration_id} (see `integrations list`).")
    revoke(quickbooks_settings(conn_id), token_store(url), integration.realm_id)
    with db.connect(url) as conn:
        integration = integrations.set_status(conn, integration_id, "disconnected", "disconnected by a user")
        conn.commit()
    return integration
