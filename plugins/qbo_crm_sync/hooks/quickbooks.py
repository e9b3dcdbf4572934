"""QuickBooks Online Accounting API v3: OAuth2 with Intuit, queries, writes, CDC and batch.

Tokens live in the sync store (``TokenStore``), never in the Airflow connection: the refresh token
rotates on every refresh and the newest must be saved at once, under the store's row lock, so two
workers never race a rotation. The Airflow connection holds only the static client id and secret.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests
from requests_oauthlib import OAuth2Session
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from qbo_crm_sync.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    ConnectionFailed,
    DuplicateDocNumber,
    DuplicateName,
    RateLimited,
    ServerError,
    StaleObject,
    SyncError,
)
from qbo_crm_sync.hooks import connection_forms
from qbo_crm_sync.hooks.http import (
    DEFAULT_TIMEOUT,
    HttpSender,
    OffsetPager,
    RequestStats,
    RetryPolicy,
    connection_failed,
    describe,
    error_for_status,
    retry_after_seconds,
    shared_throttle,
)

try:
    from airflow.sdk import BaseHook
except ImportError:  # pragma: no cover - Airflow 2 layout
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

log = logging.getLogger(__name__)


def _drop_debug(record: logging.LogRecord) -> bool:
    return record.levelno > logging.DEBUG


# requests-oauthlib logs token request and response bodies (client secret, access and refresh
# tokens) at DEBUG; keep those records from ever reaching a handler.
logging.getLogger("requests_oauthlib.oauth2_session").addFilter(_drop_debug)

PAGE_SIZE = 1000  # QBO's MAXRESULTS ceiling
BATCH_SIZE = 30  # operations per batch request
# QBO refuses a requestid over 50 characters (36 on /batch) and, when a batch carries a requestid,
# any bId over 10 characters (Intuit developer blog, "requestid", 2015-04-06).
REQUEST_ID_MAX = 50
BATCH_REQUEST_ID_MAX = 36
BID_MAX = 10
REFRESH_MARGIN_S = 300  # refresh an access token this long before it expires
_REQUEST_ID_NAMESPACE = uuid.UUID("6f0c2a4e-9d1b-5c37-8e42-1a7b3c9d5e60")


class TokenStoreLike(Protocol):
    """Where a grant's tokens live, by key: the integration id in the sync store's TokenStore."""

    def load(self, key: Any) -> dict[str, Any] | None: ...

    def save(self, key: Any, token: dict[str, Any]) -> Any: ...

    def refresh(
        self,
        key: Any,
        is_fresh: Callable[[dict[str, Any]], bool],
        refresher: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]: ...


# -------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class QuickBooksSettings:
    """Client credentials, endpoints and the per-realm budget.

    The budget counts per ``window_s`` seconds: a minute against Intuit; a test server may use a
    shorter window with the same counts.
    """

    client_id: str
    client_secret: str = field(repr=False)
    base_url: str = "https://quickbooks.api.intuit.com"
    authorize_url: str = "https://appcenter.intuit.com/connect/oauth2"
    token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    revoke_url: str = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    redirect_uri: str | None = None
    scope: str = "com.intuit.quickbooks.accounting"
    minor_version: int = 75
    requests_per_minute: int = 500
    requests_per_second: int = 10
    concurrency: int = 10
    batch_per_minute: int = 40
    window_s: float = 60.0
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_connection(cls, conn: Any) -> QuickBooksSettings:
        """Read an Airflow connection: login = client id, password = client secret, extra = URLs."""
        conn_id = getattr(conn, "conn_id", None) or "quickbooks_default"
        if not conn.login:
            raise ConfigurationError(f"Airflow connection '{conn_id}' has no Client ID (login)")
        if not conn.password:
            raise ConfigurationError(f"Airflow connection '{conn_id}' has no Client Secret (password)")
        extra = conn.extra_dejson or {}
        values: dict[str, Any] = {"client_id": conn.login, "client_secret": conn.password}
        base_url = extra.get("base_url") or (conn.host if conn.host and "://" in conn.host else None)
        if base_url:
            values["base_url"] = base_url.rstrip("/")
        oauth_base = extra.get("oauth_base_url")
        if oauth_base:
            oauth_base = oauth_base.rstrip("/")
            values["authorize_url"] = f"{oauth_base}/connect/oauth2"
            values["token_url"] = f"{oauth_base}/oauth2/v1/tokens/bearer"
            values["revoke_url"] = f"{oauth_base}/v2/oauth2/tokens/revoke"
        if extra.get("redirect_uri"):
            values["redirect_uri"] = extra["redirect_uri"]
        for key, kind in (
            ("window_s", float),
            ("minor_version", int),
            ("requests_per_minute", int),
            ("requests_per_second", int),
            ("concurrency", int),
            ("batch_per_minute", int),
        ):
            if extra.get(key) not in (None, ""):
                try:
                    values[key] = kind(extra[key])
                except (TypeError, ValueError) as exc:
                    raise ConfigurationError(
                        f"Airflow connection '{conn_id}': extra {key} is not a number"
                    ) from exc
        return cls(**values)

    def allows_plain_http(self) -> bool:
        return any(
            urlsplit(u).scheme == "http" for u in (self.authorize_url, self.token_url, self.revoke_url)
        )


# ----------------------------------------------------------------------------------- query helpers


def quote(value: str) -> str:
    """A QBO query string literal: backslashes and single quotes escaped with a backslash."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


# QBO writes MetaData times in the company's Pacific offset and compares query literals as instants.
QBO_TIME_ZONE = ZoneInfo("America/Los_Angeles")


def query_time(value: datetime) -> str:
    """A datetime as a QBO query literal's text, in Pacific time with its offset (quote() it)."""
    return value.astimezone(QBO_TIME_ZONE).isoformat(timespec="seconds")


def request_id(*parts: object) -> str:
    """Deterministic ``requestid`` for one logical write: the same parts always give the same id.

    36 characters (a UUID): within QBO's limits of 50 (single writes) and 36 (``/batch``).
    """
    return str(uuid.uuid5(_REQUEST_ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def batch_item_id(*parts: object) -> str:
    """Deterministic ``bId`` for one batch item: 10 base-32 characters (50 bits) of the parts' hash.

    Unique within a batch of 30 for all practical purposes, and distinct per logical write, so the
    batch's requestid (derived from its bIds) is distinct per set of writes too.
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return base64.b32encode(digest).decode()[:BID_MAX].lower()


def check_request_id(value: str, limit: int = REQUEST_ID_MAX) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"a QBO requestid must have 1 to {limit} characters: {value!r}")
    return value


_PAGING_CLAUSE = re.compile(r"\b(STARTPOSITION|MAXRESULTS)\b", re.IGNORECASE)


# ---------------------------------------------------------------------------------- fault mapping


def fault_error(body: Any, status: int | None = None) -> SyncError:
    """The typed error for a QBO fault body: either envelope (``Fault``/``Error`` or ``fault``/``error``)."""
    fault = (body.get("Fault") or body.get("fault")) if isinstance(body, dict) else None
    errors = (fault.get("Error") or fault.get("error") or []) if isinstance(fault, dict) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    fault_type = str(fault.get("type") or "") if isinstance(fault, dict) else ""
    message = str(first.get("Message") or first.get("message") or "QuickBooks request failed")
    detail = first.get("Detail") or first.get("detail")
    element = first.get("element") or None
    code = str(first.get("code") or "").lstrip("0") or None
    if code == "3001" or status == 429:
        return RateLimited(f"QuickBooks throttled the request (Fault {code or 429})")
    if code in ("3200", "3100") or status == 401 or fault_type.upper() == "AUTHENTICATION":
        # The detail of an authentication fault may quote the rejected token: never pass it on.
        return AuthError(f"QuickBooks rejected the credentials (Fault {code or status}): {message}")
    if status is not None and status >= 500:
        return ServerError(f"QuickBooks answered {status}: {message}")
    text = f"{message} (Fault {code})" + (f": {detail}" if detail else "")
    kwargs = {"status": status, "code": code, "detail": detail, "element": element}
    if code == "5010":
        return StaleObject(text, **kwargs)
    if code == "6240":
        return DuplicateName(text, **kwargs)
    if code == "6140":
        return DuplicateDocNumber(text, **kwargs)
    return ApiError(text, **kwargs)


def _error_for_response(response: requests.Response) -> SyncError:
    where = describe(response.request.method or "", response.request.url or "")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("Fault") or body.get("fault")):
        error = fault_error(body, response.status_code)
        if isinstance(error, RateLimited):
            error.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return error
    return error_for_status(
        response.status_code,
        f"QuickBooks answered {response.status_code} to {where}",
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
    )


# ------------------------------------------------------------------------------------------ OAuth


def _now() -> float:
    return time.time()


def token_is_fresh(token: dict[str, Any], now: float | None = None) -> bool:
    """True while the access token has more than the refresh margin left.

    The margin is five minutes, or half the token's lifetime when that is shorter, so a token that
    only lives seconds (a test server) is still used before being replaced.
    """
    expires_at = token.get("expires_at")
    if not token.get("access_token") or expires_at is None:
        return False
    lifetime = token.get("expires_in")
    margin = min(REFRESH_MARGIN_S, float(lifetime) / 2) if lifetime else REFRESH_MARGIN_S
    return float(expires_at) - (now if now is not None else _now()) > margin


def _normalise_token(token: dict[str, Any]) -> dict[str, Any]:
    """The token as stored: a plain dict with ``expires_at`` (epoch seconds) and the refresh expiry."""
    now = _now()
    stored = {k: v for k, v in dict(token).items() if v is not None}
    if stored.get("expires_in") is not None:
        stored["expires_at"] = int(now + float(stored["expires_in"]))
    if stored.get("x_refresh_token_expires_in") is not None:
        stored["refresh_token_expires_at"] = int(now + float(stored["x_refresh_token_expires_in"]))
    return stored


def _check_token_response(response: requests.Response) -> requests.Response:
    """Compliance hook on the token endpoint's answer: typed errors before oauthlib parses it."""
    if response.ok:
        return response
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    if status == 429:
        raise RateLimited(
            "Intuit token endpoint throttled the request",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status >= 500:
        raise ServerError(f"Intuit token endpoint answered {status}")
    if error == "invalid_grant":
        raise AuthError("invalid_grant")
    if error == "invalid_client" or status == 401:
        raise ConfigurationError("Intuit rejected the client id/secret of the QuickBooks connection")
    raise ApiError(
        f"Intuit token endpoint answered {status} ({error or 'no error code'})",
        status=status,
        code=error or str(status),
    )


def _oauth_session(settings: QuickBooksSettings, *, scope: bool = True) -> OAuth2Session:
    if settings.allows_plain_http():
        # Only a deliberately configured non-TLS OAuth server (the local emulator) gets here.
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    session = OAuth2Session(
        settings.client_id,
        redirect_uri=settings.redirect_uri,
        scope=[settings.scope] if scope else None,
    )
    session.register_compliance_hook("access_token_response", _check_token_response)
    session.register_compliance_hook("refresh_token_response", _check_token_response)
    return session


def _token_call(settings: QuickBooksSettings, url: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a token endpoint call, retrying only what cannot have been processed (a rotation that
    landed but whose answer was lost must not be replayed with the superseded refresh token)."""

    def attempt() -> dict[str, Any]:
        try:
            return call()
        except requests.RequestException as exc:
            raise connection_failed("POST", url, exc) from None

    def retryable(exc: BaseException) -> bool:
        if isinstance(exc, RateLimited | ServerError):
            return True
        return isinstance(exc, ConnectionFailed) and not getattr(exc, "request_sent", True)

    policy = settings.retry
    return Retrying(
        retry=retry_if_exception(retryable),
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait_random_exponential(multiplier=policy.initial_s, max=policy.max_backoff_s),
        reraise=True,
    )(attempt)


def authorization_url(settings: QuickBooksSettings, state: str) -> str:
    """The Intuit consent page URL to send the user to (``state`` guards the redirect)."""
    if not settings.redirect_uri:
        raise ConfigurationError("The QuickBooks connection has no redirect_uri (extra)")
    url, _ = _oauth_session(settings).authorization_url(settings.authorize_url, state=state)
    return url


def exchange_code(
    settings: QuickBooksSettings,
    authorization_response: str,
    token_store: TokenStoreLike | None = None,
    *,
    realm_id: str | None = None,
    expected_state: str | None = None,
    token_key: Any = None,
) -> tuple[str, dict[str, Any]]:
    """Trade the authorization code for tokens; answer (realm id, token).

    ``authorization_response`` is the URL Intuit redirected to (it carries ``code``, ``state`` and
    ``realmId``) or the bare code, in which case ``realm_id`` must be given. With a ``token_store``
    the token is saved under ``token_key`` (default: the realm id); without one the caller saves it
    once it has checked the grant.
    """
    code = authorization_response
    if "://" in authorization_response or authorization_response.startswith("?"):
        query = parse_qs(urlsplit(authorization_response).query)
        if query.get("error"):
            raise AuthError(f"QuickBooks authorization was not granted: {query['error'][0]}")
        if expected_state is not None and query.get("state", [None])[0] != expected_state:
            raise AuthError("QuickBooks authorization response does not match this connect attempt (state)")
        if not query.get("code"):
            raise AuthError("QuickBooks authorization response carries no code")
        code = query["code"][0]
        realm_id = query.get("realmId", [realm_id])[0]
    if not realm_id:
        raise AuthError("QuickBooks authorization response carries no realmId")
    session = _oauth_session(settings)
    token = _token_call(
        settings,
        settings.token_url,
        lambda: session.fetch_token(
            settings.token_url,
            code=code,
            client_secret=settings.client_secret,
            include_client_id=False,
            timeout=settings.timeout,
        ),
    )
    stored = _normalise_token(token)
    if token_store is not None:
        token_store.save(realm_id if token_key is None else token_key, stored)
    log.info("QuickBooks granted access to realm %s", realm_id)
    return realm_id, stored


def refresh_token(settings: QuickBooksSettings, token: dict[str, Any], realm_id: str) -> dict[str, Any]:
    """Use the refresh token once; answer the rotated token. ``invalid_grant`` means reconnect."""
    refresh = token.get("refresh_token")
    if not refresh:
        raise AuthError(f"No QuickBooks refresh token stored for realm {realm_id}; reconnect the integration")
    session = _oauth_session(settings, scope=False)
    try:
        new = _token_call(
            settings,
            settings.token_url,
            lambda: session.refresh_token(
                settings.token_url,
                refresh_token=refresh,
                auth=requests.auth.HTTPBasicAuth(settings.client_id, settings.client_secret),
                timeout=settings.timeout,
            ),
        )
    except AuthError:
        raise AuthError(
            f"QuickBooks authorization for realm {realm_id} was revoked or superseded; reconnect the integration"
        ) from None
    log.info("QuickBooks access token for realm %s refreshed", realm_id)
    return _normalise_token(new)


def revoke_token(settings: QuickBooksSettings, token: dict[str, Any] | None) -> bool:
    """End the grant ``token`` belongs to at Intuit (its refresh token ends the whole grant).
    Answer whether Intuit confirmed; an unknown or already revoked token answers 200 too."""
    secret = (token or {}).get("refresh_token") or (token or {}).get("access_token")
    if not secret:
        return False
    try:
        response = requests.post(
            settings.revoke_url,
            json={"token": secret},
            auth=(settings.client_id, settings.client_secret),
            headers={"Accept": "application/json"},
            timeout=settings.timeout,
        )
    except requests.RequestException as exc:
        raise connection_failed("POST", settings.revoke_url, exc) from None
    log.info("%s -> %s", describe("POST", settings.revoke_url), response.status_code)
    if response.status_code >= 500:
        raise ServerError(f"Intuit revoke endpoint answered {response.status_code}; try again")
    return response.ok


def revoke(settings: QuickBooksSettings, token_store: Any, key: Any) -> bool:
    """Revoke the grant stored under ``key`` at Intuit, then delete it locally. Answer whether
    Intuit confirmed.

    An already invalid token is as good as revoked: the local copy is deleted either way.
    """
    confirmed = revoke_token(settings, token_store.load(key))
    token_store.delete(key)
    return confirmed


# ------------------------------------------------------------------------------------------- hook


class QuickBooksHook(BaseHook):
    """One QBO company (realm): OAuth2 tokens from the store, throttled and retried API calls."""

    conn_name_attr = "quickbooks_conn_id"
    default_conn_name = "quickbooks_default"
    conn_type = "quickbooks"
    hook_name = "QuickBooks Online"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return copy.deepcopy(connection_forms.QUICKBOOKS)

    def __init__(
        self,
        realm_id: str,
        token_store: TokenStoreLike,
        quickbooks_conn_id: str = default_conn_name,
        settings: QuickBooksSettings | None = None,
        token_key: Any = None,
    ) -> None:
        super().__init__()
        self.realm_id = str(realm_id)
        self.token_store = token_store
        # The grant's key in the store: the integration id with the sync store's TokenStore (each
        # integration holds its own grant); stores keyed by realm leave it out.
        self.token_key = self.realm_id if token_key is None else token_key
        self.quickbooks_conn_id = quickbooks_conn_id
        self._settings = settings
        self.stats = RequestStats()
        self._token: dict[str, Any] | None = None
        self._token_lock = threading.RLock()
        self._sender: HttpSender | None = None

    def __repr__(self) -> str:
        return f"QuickBooksHook(realm_id={self.realm_id!r}, conn_id={self.quickbooks_conn_id!r})"

    # -- plumbing

    @property
    def settings(self) -> QuickBooksSettings:
        if self._settings is None:
            self._settings = QuickBooksSettings.from_connection(self.get_connection(self.quickbooks_conn_id))
        return self._settings

    def get_conn(self) -> HttpSender:
        if self._sender is None:
            s = self.settings
            self._sender = HttpSender(
                "QuickBooks",
                throttle=shared_throttle(
                    f"quickbooks:{s.base_url}", s.requests_per_minute, s.window_s, s.concurrency
                ),
                policy=s.retry,
                timeout=s.timeout,
                error_for=_error_for_response,
                stats=self.stats,
            )
        return self._sender

    def _url(self, path: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/v3/company/{self.realm_id}/{path}"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token()}"}

    def _access_token(self) -> str:
        with self._token_lock:
            token = self._token or self.token_store.load(self.token_key)
            if token is None:
                raise AuthError(
                    f"No QuickBooks tokens stored for realm {self.realm_id}; connect the integration"
                )
            if not token_is_fresh(token):
                token = self._refresh(rejected=None)
            self._token = token
            return str(token["access_token"])

    def _refresh(self, rejected: str | None) -> dict[str, Any]:
        """Refresh under the store's row lock; a token another worker refreshed meanwhile is reused."""

        def is_fresh(stored: dict[str, Any]) -> bool:
            return stored.get("access_token") != rejected and token_is_fresh(stored)

        def refresher(stored: dict[str, Any]) -> dict[str, Any]:
            self.stats.add("token")
            return refresh_token(self.settings, stored, self.realm_id)

        with self._token_lock:
            self._token = self.token_store.refresh(self.token_key, is_fresh, refresher)
            return self._token

    def _on_unauthorized(self, response: requests.Response) -> None:
        sent = response.request.headers.get("Authorization", "")
        self._refresh(rejected=sent.removeprefix("Bearer ") or None)

    def _send(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        batch: bool = False,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        sender = self.get_conn()
        s = self.settings
        query = {**(params or {}), "minorversion": s.minor_version}
        data = None if body is None else json.dumps(body, default=_json_default).encode()

        def headers() -> dict[str, str]:
            extra = {} if data is None else {"Content-Type": "application/json"}
            return {**self._auth_headers(), **extra}

        response = sender.send(
            method,
            self._url(path),
            key=self.realm_id,
            kind=kind,
            params=query,
            data=data,
            headers=headers,
            reauthenticate=self._on_unauthorized,
            idempotent=idempotent,
            # QBO also allows 10 requests per second per realm (scaled with the window like the rest).
            extra_throttles=[
                shared_throttle(f"quickbooks-second:{s.base_url}", s.requests_per_second, s.window_s / 60),
                *([shared_throttle(f"quickbooks-batch:{s.base_url}", s.batch_per_minute, s.window_s)] if batch else []),
            ],
        )
        try:
            return response.json()
        except ValueError:
            raise ServerError(
                f"QuickBooks answered {describe(method, response.url)} with a body that is not JSON"
            ) from None

    # -- reads (metered)

    def query(self, select: str, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every row of ``select`` (``SELECT ... FROM ... [WHERE ...] [ORDERBY ...]``), page by page."""
        if _PAGING_CLAUSE.search(select):
            raise ValueError("query() adds STARTPOSITION/MAXRESULTS itself; leave them out of the select")

        def fetch(offset: int, limit: int) -> tuple[list[dict[str, Any]], None]:
            paged = f"{select} STARTPOSITION {offset + 1} MAXRESULTS {limit}"
            body = self._send("GET", "query", kind="read", params={"query": paged})
            return _query_rows(body.get("QueryResponse") or {}), None

        return iter(OffsetPager(fetch, page_size))

    def query_one(self, select: str) -> dict[str, Any] | None:
        """The first row of ``select``, or None."""
        if _PAGING_CLAUSE.search(select):
            raise ValueError("query_one() adds MAXRESULTS itself; leave it out of the select")
        body = self._send("GET", "query", kind="read", params={"query": f"{select} MAXRESULTS 1"})
        rows = _query_rows(body.get("QueryResponse") or {})
        return rows[0] if rows else None

    def count(self, entity: str, where: str | None = None) -> int:
        """``SELECT COUNT(*) FROM entity [WHERE ...]``."""
        # QBO's query language, sent as a URL parameter to the API, not SQL to a database.
        select = f"SELECT COUNT(*) FROM {entity}" + (f" WHERE {where}" if where else "")  # noqa: S608
        body = self._send("GET", "query", kind="read", params={"query": select})
        return int((body.get("QueryResponse") or {}).get("totalCount", 0))

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        body = self._send("GET", f"{entity.lower()}/{entity_id}", kind="read")
        return body[entity]

    def company_info(self) -> dict[str, Any]:
        """The company's CompanyInfo (name, country, addresses, time zone)."""
        return self._send("GET", f"companyinfo/{self.realm_id}", kind="read")["CompanyInfo"]

    def preferences(self) -> dict[str, Any]:
        """The company's Preferences (currencies, sales tax, sales-form settings)."""
        return self._send("GET", "preferences", kind="read")["Preferences"]

    def cdc(self, entities: Sequence[str], changed_since: datetime) -> dict[str, list[dict[str, Any]]]:
        """Objects of ``entities`` changed since ``changed_since`` (≤ 30 days back, ≤ 1000 objects)."""
        if changed_since.tzinfo is None:
            changed_since = changed_since.replace(tzinfo=UTC)
        body = self._send(
            "GET",
            "cdc",
            kind="read",
            params={
                "entities": ",".join(entities),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
        )
        found: dict[str, list[dict[str, Any]]] = {e: [] for e in entities}
        for cdc_response in body.get("CDCResponse") or []:
            for query_response in cdc_response.get("QueryResponse") or []:
                for name, rows in query_response.items():
                    if isinstance(rows, list):
                        found.setdefault(name, []).extend(rows)
        return found

    # -- writes (idempotent through requestid)

    def create(self, entity: str, body: dict[str, Any], request_id: str) -> dict[str, Any]:
        params = {"requestid": check_request_id(request_id)}
        answer = self._send("POST", entity.lower(), kind="write", params=params, body=body)
        return answer[entity]

    def update(
        self, entity: str, body: dict[str, Any], request_id: str, sparse: bool = False
    ) -> dict[str, Any]:
        """Full or sparse update; ``body`` carries ``Id`` and the current ``SyncToken``."""
        if not body.get("Id") or body.get("SyncToken") is None:
            raise ValueError("an update needs the entity's Id and current SyncToken")
        payload = {**body, "sparse": sparse}
        params = {"requestid": check_request_id(request_id)}
        answer = self._send("POST", entity.lower(), kind="write", params=params, body=payload)
        return answer[entity]

    def void_invoice(self, invoice_id: str, sync_token: str, request_id: str) -> dict[str, Any]:
        answer = self._send(
            "POST",
            "invoice",
            kind="write",
            params={"operation": "void", "requestid": check_request_id(request_id)},
            body={"Id": str(invoice_id), "SyncToken": str(sync_token)},
        )
        return answer["Invoice"]

    def batch(self, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send ``items`` (``{"operation": ..., "<Entity>": {...}}`` or ``{"Query": ...}``, optional
        ``bId``) in batch requests of 30; answer one result per item, in order.

        A result is the item's ``BatchItemResponse`` (``bId`` plus the entity or ``QueryResponse``);
        a per-item fault is not raised but returned under ``"error"`` as its typed error. Give each
        write a deterministic ``bId`` (``batch_item_id(...)``): the batch's requestid is derived
        from its bIds, so the same batch sent again carries the same requestid.
        """
        prepared = []
        for index, item in enumerate(items):
            prepared.append({**item, "bId": str(item.get("bId") or f"b{index}")})
        if len({p["bId"] for p in prepared}) != len(prepared):
            raise ValueError("batch items need distinct bIds")
        too_long = [p["bId"] for p in prepared if len(p["bId"]) > BID_MAX]
        if too_long:
            raise ValueError(f"QBO refuses bIds over {BID_MAX} characters in a batch with a requestid: {too_long[:3]}")
        results: list[dict[str, Any]] = []
        for start in range(0, len(prepared), BATCH_SIZE):
            results += self._batch_request(prepared[start : start + BATCH_SIZE], idempotent=True)
        return results

    def batch_once(self, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One batch request (≤ 30 items, each with its deterministic ``bId``) that is not sent again
        once it may have been processed: a lost answer raises, so that the caller finds out what
        landed (flows/qbo_batch_log.py) instead of trusting QBO's requestid replay. Only a refusal
        that proves nothing was processed (429, a connection never opened) is retried."""
        if len(items) > BATCH_SIZE:
            raise ValueError(f"one batch request carries at most {BATCH_SIZE} items")
        if any(not item.get("bId") for item in items):
            raise ValueError("batch_once needs every item's bId")
        return self._batch_request([{**item, "bId": str(item["bId"])} for item in items], idempotent=False)

    def _batch_request(self, chunk: list[dict[str, Any]], idempotent: bool) -> list[dict[str, Any]]:
        ids = [p["bId"] for p in chunk]
        if len(set(ids)) != len(ids):
            raise ValueError("batch items need distinct bIds")
        too_long = [b for b in ids if len(b) > BID_MAX]
        if too_long:
            raise ValueError(f"QBO refuses bIds over {BID_MAX} characters in a batch with a requestid: {too_long[:3]}")
        body = self._send(
            "POST",
            "batch",
            kind="batch",
            params={"requestid": check_request_id(request_id("batch", *ids), BATCH_REQUEST_ID_MAX)},
            body={"BatchItemRequest": chunk},
            batch=True,
            idempotent=idempotent,
        )
        answers = {str(a.get("bId")): a for a in body.get("BatchItemResponse") or [] if isinstance(a, dict)}
        results: list[dict[str, Any]] = []
        for bid in ids:
            answer = answers.get(bid)
            if answer is None:
                results.append({"bId": bid, "error": ApiError(f"QuickBooks batch gave no answer for item {bid}")})
            elif answer.get("Fault") or answer.get("fault"):
                results.append({**answer, "error": fault_error(answer)})
            else:
                results.append(answer)
        return results


def _query_rows(query_response: dict[str, Any]) -> list[dict[str, Any]]:
    for value in query_response.values():
        if isinstance(value, list):
            return value
    return []


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # amounts have at most a few decimals: the float's repr is exact
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


__all__ = [
    "QuickBooksHook",
    "QuickBooksSettings",
    "authorization_url",
    "batch_item_id",
    "exchange_code",
    "fault_error",
    "quote",
    "refresh_token",
    "request_id",
    "revoke",
    "revoke_token",
    "token_is_fresh",
]
