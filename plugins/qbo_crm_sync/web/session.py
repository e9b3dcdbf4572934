"""Browser session state of the QB Connect page: a session id cookie, CSRF tokens bound to it, the
pending OAuth attempt and one-shot messages, all in cookies the server alone can read or forge.

Keys are derived from SYNC_FERNET_KEY (HKDF, one purpose each), so the page needs no storage of
its own and every api-server worker accepts what another one issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

from qbo_crm_sync import config

SESSION_COOKIE = "qbc_session"
PENDING_COOKIE = "qbc_oauth"
FLASH_COOKIE = "qbc_flash"
CSRF_FIELD = "csrf_token"
# Intuit's consent screen rarely takes long; a stale attempt must start again.
PENDING_TTL_S = 600
FLASH_TTL_S = 120
# Browsers keep cookies up to 4096 bytes; a flash that would not fit drops what was typed.
MAX_COOKIE_BYTES = 3800


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"qb-connect " + purpose).derive(
        secret.encode()
    )


@cache
def _keys(secret: str) -> tuple[Fernet, bytes]:
    sealing = Fernet(base64.urlsafe_b64encode(_derive(secret, b"cookies")))
    return sealing, _derive(secret, b"csrf")


def _sealer() -> Fernet:
    return _keys(config.fernet_key())[0]


def _csrf_key() -> bytes:
    return _keys(config.fernet_key())[1]


def _cookie_path(request: Request) -> str:
    return request.scope.get("root_path") or "/"


def _set(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_cookie_path(request),
        httponly=True,
        secure=request.url.scheme == "https",
        # Lax: the cookies still arrive on Intuit's top-level redirect back to the callback.
        samesite="lax",
    )


def _clear(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=_cookie_path(request), httponly=True, samesite="lax")


def seal(data: dict[str, Any]) -> str:
    return _sealer().encrypt(json.dumps(data).encode()).decode()


def unseal(value: str | None, ttl: int) -> dict[str, Any] | None:
    """The sealed data, or None when absent, forged, or older than ``ttl`` seconds."""
    if not value:
        return None
    try:
        data = json.loads(_sealer().decrypt(value.encode(), ttl=ttl))
    except (InvalidToken, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- session id and CSRF --------------------------------------------------------------------------
def session_id(request: Request) -> str | None:
    value = request.cookies.get(SESSION_COOKIE)
    return value if value and len(value) >= 32 else None


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def keep_session(request: Request, response: Response, sid: str) -> None:
    """Issue ``sid`` to the browser unless it already holds it."""
    if request.cookies.get(SESSION_COOKIE) != sid:
        _set(request, response, SESSION_COOKIE, sid, max_age=None)


def csrf_token(sid: str, user_id: str) -> str:
    """The form token for this browser session and user: forms from another session do not pass."""
    mac = hmac.new(_csrf_key(), f"{sid}\x00{user_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_valid(sid: str | None, user_id: str, submitted: str | None) -> bool:
    if not sid or not submitted:
        return False
    return hmac.compare_digest(csrf_token(sid, user_id), submitted)


# -- the pending OAuth attempt --------------------------------------------------------------------
@dataclass(frozen=True)
class PendingConnect:
    state: str
    location_id: str
    sid: str
    user_id: str
    crm_conn_id: str | None = None
    location_name: str | None = None
    in_airflow: bool = False  # started inside Airflow's navigation: come back there


def remember_pending(request: Request, response: Response, pending: PendingConnect) -> None:
    sealed = seal({"state": pending.state, "location_id": pending.location_id, "sid": pending.sid,
                   "user": pending.user_id, "crm_conn_id": pending.crm_conn_id,
                   "location_name": pending.location_name, "in_airflow": pending.in_airflow})
    _set(request, response, PENDING_COOKIE, sealed, max_age=PENDING_TTL_S)


def take_pending(request: Request, response: Response) -> PendingConnect | None:
    """The attempt this browser started (within the TTL); the cookie is cleared: one use only."""
    _clear(request, response, PENDING_COOKIE)
    return peek_pending(request)


def peek_pending(request: Request) -> PendingConnect | None:
    """The attempt this browser started (within the TTL), left in place."""
    data = unseal(request.cookies.get(PENDING_COOKIE), PENDING_TTL_S)
    if data is None:
        return None
    try:
        return PendingConnect(str(data["state"]), str(data["location_id"]), str(data["sid"]), str(data["user"]),
                              data.get("crm_conn_id") or None, data.get("location_name") or None,
                              bool(data.get("in_airflow")))
    except KeyError:
        return None


# -- one-shot messages across a redirect ----------------------------------------------------------
@dataclass(frozen=True)
class Flash:
    """A message for the next page: ``integration_id`` shows it in that integration's card (where
    the form was), ``form`` carries a refused settings form (values typed, errors) to show again."""

    kind: str  # "ok" or "error"
    text: str
    integration_id: int | None = None
    form: dict[str, Any] | None = None


def set_flash(request: Request, response: Response, kind: str, text: str, *,
              integration_id: int | None = None, form: dict[str, Any] | None = None) -> None:
    data: dict[str, Any] = {"kind": kind, "text": text, "integration_id": integration_id, "form": form}
    sealed = seal(data)
    if len(sealed) > MAX_COOKIE_BYTES and form is not None:
        sealed = seal(data | {"form": {"part": form.get("part"), "errors": form.get("errors", {}), "values": {}}})
    _set(request, response, FLASH_COOKIE, sealed, max_age=FLASH_TTL_S)


def read_flash(request: Request) -> Flash | None:
    data = unseal(request.cookies.get(FLASH_COOKIE), FLASH_TTL_S)
    if data is None or data.get("kind") not in ("ok", "error"):
        return None
    integration_id = data.get("integration_id")
    form = data.get("form")
    return Flash(data["kind"], str(data.get("text", "")),
                 integration_id if isinstance(integration_id, int) else None,
                 form if isinstance(form, dict) else None)


def clear_flash(request: Request, response: Response) -> None:
    if FLASH_COOKIE in request.cookies:
        _clear(request, response, FLASH_COOKIE)
