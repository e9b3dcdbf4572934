"""Connect, disconnect and configure integrations: the OAuth2 authorization-code flow with Intuit
and the checks around it, shared by the CLI and the QB Connect page.

Each integration holds its own grant (tokens are kept per integration): connecting asks Intuit for a
new grant, confirms with it that the company is the one the redirect names, then keeps it for that
integration alone and revokes the grant it replaces; disconnecting revokes that integration's grant
and nothing else.
"""

from __future__ import annotations

import getpass
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests

from qbo_crm_sync import config
from qbo_crm_sync.errors import ApiError, AuthError, ConfigurationError, CrmAccessDenied, SyncError
from qbo_crm_sync.store import db, integrations
from qbo_crm_sync.store.integrations import Integration, validate_location_id
from qbo_crm_sync.store.tokens import TokenStore

log = logging.getLogger(__name__)

# QuickBooks company (realm) ids are digits; anything else in the redirect is not Intuit's.
REALM_ID = re.compile(r"[0-9A-Za-z]{1,40}")
HIGHLEVEL_CONN_TYPE = "highlevel"


class SettingRejected(ConfigurationError):
    """A setting value that cannot be used; ``key`` names the setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def airflow_connection(conn_id: str, kind: str) -> Any:
    """The Airflow connection ``conn_id``, or a ConfigurationError that says how to add it."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # any lookup failure means the same thing to the operator
        raise ConfigurationError(
            f"Airflow connection '{conn_id}' is not defined: set AIRFLOW_CONN_{conn_id.upper()} "
            f"or add it in Admin > Connections (type {kind})."
        ) from exc


# Intuit refuses IP addresses in redirect URIs; plain-http ``localhost`` is allowed for development
# keys (developer.intuit.com, "Set app redirect URIs"). A local stack's callback is on localhost.
LOOPBACK_NAME = "localhost"
LOOPBACK_IPS = frozenset({"127.0.0.1", "::1"})


def quickbooks_settings(conn_id: str = config.QUICKBOOKS_CONN_ID):
    """QuickBooks app credentials and endpoints from the Airflow connection ``conn_id``; a redirect
    URI configured on a loopback IP is named ``localhost`` instead, as Intuit accepts it."""
    from qbo_crm_sync.hooks.quickbooks import QuickBooksSettings

    settings = QuickBooksSettings.from_connection(airflow_connection(conn_id, "QuickBooks Online"))
    configured = urlsplit(settings.redirect_uri or "")
    if configured.hostname in LOOPBACK_IPS:
        netloc = LOOPBACK_NAME + (f":{configured.port}" if configured.port else "")
        return replace(settings, redirect_uri=urlunsplit(configured._replace(netloc=netloc)))
    return settings


def token_store(url: str | None = None) -> TokenStore:
    url = url or config.database_url()
    return TokenStore(lambda: db.connect(url), config.fernet_key())


def who_runs_the_cli() -> str:
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "command line"


# -- the CRM side -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrmLocation:
    """A location the CRM confirmed with the token the integration will use."""

    id: str
    name: str | None
    crm_conn_id: str | None  # None: the shared default connection


def check_crm_connection(conn_id: str | None) -> str:
    """``conn_id`` (default ``highlevel_default``) once it names an existing HighLevel connection."""
    conn_id = conn_id or config.HIGHLEVEL_CONN_ID
    conn = airflow_connection(conn_id, "HighLevel (LeadConnector)")
    if (conn.conn_type or "") != HIGHLEVEL_CONN_TYPE:
        raise SettingRejected("crm_conn_id", f"Airflow connection '{conn_id}' is of type "
                                             f"'{conn.conn_type or 'none'}', not '{HIGHLEVEL_CONN_TYPE}'.")
    return conn_id


def check_location(location_id: str, crm_conn_id: str | None = None) -> CrmLocation:
    """The location, once its id is well formed and the CRM confirms it with the token of
    ``crm_conn_id`` (the one the integration will sync with)."""
    from qbo_crm_sync.hooks.highlevel import HighLevelHook

    location_id = validate_location_id(location_id)
    conn_id = check_crm_connection(crm_conn_id)
    hook = HighLevelHook(location_id, highlevel_conn_id=conn_id)
    try:
        found = hook.get_location()
    except (AuthError, CrmAccessDenied):
        # HighLevel answers 403 for a token of another location, 401 for an unknown token.
        raise ConfigurationError(f"The CRM refused the token of connection '{conn_id}' for location "
                                 f"{location_id}: that connection must hold this location's own token "
                                 "(a location it cannot reach may also not exist).") from None
    except ApiError as exc:
        raise ConfigurationError(f"The CRM has no location {location_id} that the token of connection "
                                 f"'{conn_id}' can read ({exc.detail or exc.status}).") from None
    if found.get("id") != location_id:
        raise ConfigurationError(f"The CRM did not confirm location {location_id} (it answered another).")
    return CrmLocation(location_id, found.get("name") or None, crm_conn_id or None)


def live_integrations(location_id: str, url: str | None = None) -> list[Integration]:
    """The location's integrations that are not disconnected (connected or awaiting reauth)."""
    with db.connect(url or config.database_url()) as conn:
        return [i for i in integrations.find(conn, location_id=location_id) if i.status != "disconnected"]


# -- the QuickBooks side ------------------------------------------------------------------------
def begin(settings, state: str | None = None) -> tuple[str, str]:
    """The Intuit consent URL to send the user to, and the ``state`` to check on the way back."""
    from qbo_crm_sync.hooks.quickbooks import authorization_url

    state = state or secrets.token_urlsafe(24)
    return authorization_url(settings, state), state


def company_name(settings, realm_id: str, token: Mapping[str, Any]) -> str:
    """The company's name, read with ``token``: proof that the grant is for ``realm_id``
    (QuickBooks refuses a token on another company with an authorization fault)."""
    from qbo_crm_sync.hooks.http import connection_failed
    from qbo_crm_sync.hooks.quickbooks import fault_error

    url = f"{settings.base_url.rstrip('/')}/v3/company/{realm_id}/companyinfo/{realm_id}"
    try:
        answer = requests.get(url, params={"minorversion": settings.minor_version}, timeout=settings.timeout,
                              headers={"Authorization": f"Bearer {token.get('access_token', '')}",
                                       "Accept": "application/json"})
    except requests.RequestException as exc:
        raise connection_failed("GET", url, exc) from None
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not answer.ok:
        if isinstance(body, dict) and (body.get("Fault") or body.get("fault")):
            raise fault_error(body, answer.status_code)
        raise ApiError(f"QuickBooks answered {answer.status_code}", status=answer.status_code)
    info = body.get("CompanyInfo") if isinstance(body, dict) else None
    name = info.get("CompanyName") if isinstance(info, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ApiError("QuickBooks answered without the company's name")
    return name.strip()


def _revoke_quietly(settings, token: Mapping[str, Any] | None, what: str) -> bool:
    """Revoke a grant we no longer keep; a failure is logged, never raised (nothing else to undo)."""
    from qbo_crm_sync.hooks.quickbooks import revoke_token

    if not token:
        return False
    try:
        return revoke_token(settings, dict(token))
    except SyncError as exc:
        log.warning("Could not revoke %s at Intuit (%s); it expires on its own", what, exc)
        return False


def complete(location_id: str, redirect_response: str, expected_state: str, settings, url: str | None = None,
             *, tokens: TokenStore | None = None, crm: CrmLocation | None = None,
             connected_by: str | None = None) -> Integration:
    """Exchange the code in Intuit's redirect for a grant, confirm the company with it, register the
    integration and keep the grant for it alone; then revoke the grants it replaces (this
    integration's previous one, and those of the location's pairs with another company)."""
    from qbo_crm_sync.hooks.quickbooks import exchange_code

    query = parse_qs(urlsplit(redirect_response).query)
    if "error" in query:
        raise AuthError(f"QuickBooks refused the connection: {query['error'][0][:80]}")
    if query.get("state", [None])[0] != expected_state:
        raise AuthError("The redirect's state does not match this connection attempt; start again.")
    named_realm = query.get("realmId", [""])[0]
    if not REALM_ID.fullmatch(named_realm):
        raise AuthError("The redirect names no valid QuickBooks company (realmId); nothing was connected.")
    realm_id, token = exchange_code(settings, redirect_response)
    try:
        name = company_name(settings, realm_id, token)
    except SyncError as exc:
        _revoke_quietly(settings, token, f"the new grant for realm {realm_id}")
        raise AuthError(f"QuickBooks did not confirm company {realm_id} with the new grant ({exc}); "
                        "nothing was connected and that grant is revoked.") from None
    url = url or config.database_url()
    tokens = tokens or token_store(url)
    try:
        with db.connect(url) as conn:
            integration, retired = integrations.register_replacing(
                conn, location_id, realm_id, company_name=name, location_name=crm.name if crm else None,
                connected_by=connected_by)
            if crm is not None and crm.crm_conn_id:
                integration = integrations.update_settings(conn, integration.id, {"crm_conn_id": crm.crm_conn_id},
                                                          by=connected_by)
            conn.commit()
        replaced = tokens.save(integration.id, token)
    except BaseException:
        _revoke_quietly(settings, token, f"the new grant for realm {realm_id}")
        raise
    if replaced and replaced.get("refresh_token") != token.get("refresh_token"):
        _revoke_quietly(settings, replaced, f"the grant integration {integration.id} held before")
    for old in retired:
        _revoke_quietly(settings, tokens.delete(old.id), f"the grant of integration {old.id}")
    log.info("Integration %s: location %s connected to realm %s by %s", integration.id, location_id,
             realm_id, connected_by or "unknown")
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
    *,
    crm_conn_id: str | None = None,
    connected_by: str | None = None,
) -> Integration:
    """Run the authorization-code flow for ``location_id`` (checked with the CRM first) and register
    the integration."""
    # What is missing locally is named before anything is asked of the CRM or Intuit.
    settings = quickbooks_settings(conn_id)
    config.fernet_key()
    crm = check_location(location_id, crm_conn_id)
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
    return complete(crm.id, redirect_response, state, settings, crm=crm,
                    connected_by=connected_by or who_runs_the_cli())


def disconnect(integration_id: int, conn_id: str = config.QUICKBOOKS_CONN_ID, *, by: str | None = None
               ) -> Integration:
    """Revoke this integration's grant at Intuit, forget it here, and mark the integration
    disconnected (by whom); other integrations, of the same company too, keep theirs."""
    url = config.database_url()
    with db.connect(url) as conn:
        integration = integrations.get(conn, integration_id)
    if integration is None:
        raise ConfigurationError(f"No integration with id {integration_id} (see `integrations list`).")
    settings = quickbooks_settings(conn_id)
    tokens = token_store(url)
    from qbo_crm_sync.hooks.quickbooks import revoke_token

    # Revoked first: should Intuit fail, the grant stays here and the disconnect can be retried.
    revoke_token(settings, tokens.load(integration.id))
    tokens.delete(integration.id)
    who = by or who_runs_the_cli()
    with db.connect(url) as conn:
        integration = integrations.set_status(conn, integration_id, "disconnected", f"disconnected by {who}",
                                              by=who)
        conn.commit()
    log.info("Integration %s disconnected by %s", integration_id, who)
    return integration


def update_settings(integration_id: int, changes: Mapping[str, Any], url: str | None = None, *,
                    by: str | None = None) -> Integration:
    """Validate and save setting changes, recorded as made by ``by`` (default: who runs the CLI);
    a new ``crm_conn_id`` must name a HighLevel connection whose token the CRM accepts for the
    integration's location."""
    try:
        valid = integrations.validate_settings(changes)
    except integrations.InvalidSetting as exc:
        raise SettingRejected(exc.key, str(exc)) from None
    url = url or config.database_url()
    with db.connect(url) as conn:
        current = integrations.require(conn, integration_id)
    new_conn = valid.get("crm_conn_id")
    if "crm_conn_id" in valid and new_conn != current.settings.get("crm_conn_id"):
        try:
            check_location(current.location_id, new_conn)
        except SettingRejected:
            raise
        except SyncError as exc:  # missing connection, token refused, location unknown to it
            raise SettingRejected("crm_conn_id", str(exc)) from None
    with db.connect(url) as conn:
        try:
            updated = integrations.update_settings(conn, integration_id, valid, by=by or who_runs_the_cli())
        except integrations.InvalidSetting as exc:
            raise SettingRejected(exc.key, str(exc)) from None
        conn.commit()
    return updated
