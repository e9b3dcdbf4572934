"""OAuth tokens per integration, encrypted at rest with Fernet and refreshed under a row lock.

Each integration holds its own grant: two CRM locations connected to the same QuickBooks company
have two token rows, so revoking one never touches the other. QBO rotates the refresh token on
every refresh and the previous one stops working soon after, so a refresh must be serialised per
token row and its result committed before anyone uses it: the refreshing worker holds
``SELECT ... FOR UPDATE`` on the integration's row across the HTTP call; a second worker blocks on
that row, then finds the token already fresh and uses it as is.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from psycopg.rows import dict_row

from qbo_crm_sync.errors import AuthError, ConfigurationError
from qbo_crm_sync.store.integrations import IntegrationNotFound
from qbo_crm_sync.store.sql import query

log = logging.getLogger(__name__)


class Token(dict):
    """A token dict whose repr and str name its keys only, so printing it leaks nothing."""

    def __repr__(self) -> str:
        return f"Token(keys={sorted(self)})"

    __str__ = __repr__


def _fernet(key: str) -> MultiFernet:
    # Several comma-separated keys allow rotation: the first encrypts, all of them decrypt.
    try:
        return MultiFernet([Fernet(k.strip()) for k in key.split(",") if k.strip()])
    except (ValueError, TypeError):
        raise ConfigurationError(
            "SYNC_FERNET_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes); "
            "generate one with `python -m qbo_crm_sync keygen`."
        ) from None


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if value is not None else None


def _in(seconds: Any) -> datetime | None:
    return datetime.now(UTC) + timedelta(seconds=float(seconds)) if seconds is not None else None


def access_expires_at(token: Mapping[str, Any]) -> datetime | None:
    """When the access token expires: ``expires_at`` (epoch, set by requests-oauthlib) or ``expires_in``."""
    return _epoch(token.get("expires_at")) or _in(token.get("expires_in"))


def refresh_expires_at(token: Mapping[str, Any]) -> datetime | None:
    """When the refresh token expires (QBO sends ``x_refresh_token_expires_in``)."""
    return _epoch(token.get("refresh_token_expires_at")) or _in(token.get("x_refresh_token_expires_in"))


def expires_soon(token: Mapping[str, Any], margin: float = 300.0) -> bool:
    """True when the access token is unknown-dated or expires within ``margin`` seconds."""
    expires = token.get("expires_at")
    return expires is None or float(expires) - time.time() < margin


def _integration_id(key: Any) -> int:
    """Token rows are keyed by integration id; a realm id here is a caller still thinking per company."""
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"tokens are kept per integration: pass the integration id (int), not {type(key).__name__}")
    return key


class TokenStore:
    """Encrypted token storage keyed by integration id; ``connect`` opens a fresh connection for
    each operation."""

    def __init__(self, connect: Callable[[], psycopg.Connection], fernet_key: str) -> None:
        self._connect = connect
        self._fernet = _fernet(fernet_key)

    def __repr__(self) -> str:
        return "TokenStore(fernet_key=<hidden>)"

    # -- encryption -----------------------------------------------------------------------
    def _encrypt(self, token: Mapping[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(dict(token), separators=(",", ":")).encode("utf-8"))

    def _decrypt(self, integration_id: int, ciphertext: bytes) -> Token:
        try:
            return Token(json.loads(self._fernet.decrypt(bytes(ciphertext))))
        except InvalidToken:
            raise ConfigurationError(
                "SYNC_FERNET_KEY does not match the key the tokens were saved with "
                f"(integration {integration_id}); restore the original key or reconnect QuickBooks."
            ) from None

    def _decrypt_or_none(self, integration_id: int, row: Mapping[str, Any] | None) -> Token | None:
        """The token of ``row`` for revoking it; None when absent or sealed with a lost key."""
        if row is None:
            return None
        try:
            return self._decrypt(integration_id, row["ciphertext"])
        except ConfigurationError:
            log.warning("The replaced token of integration %s cannot be read with SYNC_FERNET_KEY; "
                        "it cannot be revoked from here", integration_id)
            return None

    def _write(self, cur: psycopg.Cursor, integration_id: int, token: Mapping[str, Any]) -> int:
        try:
            row = cur.execute(
                query("token_save"),
                {
                    "integration_id": integration_id,
                    "ciphertext": self._encrypt(token),
                    "access_expires_at": access_expires_at(token),
                    "refresh_expires_at": refresh_expires_at(token),
                },
            ).fetchone()
        except psycopg.errors.ForeignKeyViolation:
            raise IntegrationNotFound(f"No integration with id {integration_id} to keep tokens for") from None
        assert row is not None
        return row["version"]

    # -- public operations ----------------------------------------------------------------
    def load(self, integration_id: int) -> Token | None:
        key = _integration_id(integration_id)
        with self._connect() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query("token_load"), {"integration_id": key}).fetchone()
        return self._decrypt(key, row["ciphertext"]) if row else None

    def save(self, integration_id: int, token: Mapping[str, Any]) -> Token | None:
        """Store ``token`` as the integration's grant; answer the token it replaced (to revoke it),
        or None when there was none or it cannot be read any more."""
        key = _integration_id(integration_id)
        if not token.get("access_token"):
            raise ValueError("refusing to save a token without an access_token")
        with self._connect() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            previous = cur.execute(query("token_lock"), {"integration_id": key}).fetchone()
            version = self._write(cur, key, token)
        log.info("Saved OAuth token for integration %s (version %s)", key, version)
        return self._decrypt_or_none(key, previous)

    def delete(self, integration_id: int) -> Token | None:
        """Forget the integration's token; answer it (to revoke it), or None when there was none."""
        key = _integration_id(integration_id)
        with self._connect() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query("token_delete"), {"integration_id": key}).fetchone()
        if row is not None:
            log.info("Deleted OAuth token for integration %s", key)
        return self._decrypt_or_none(key, row)

    def expiry(self, integration_id: int) -> dict[str, Any] | None:
        """Expiry times and version, without decrypting: for status pages."""
        key = _integration_id(integration_id)
        with self._connect() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(query("token_expiry"), {"integration_id": key}).fetchone()

    def refresh(
        self,
        integration_id: int,
        is_fresh: Callable[[Token], bool],
        refresher: Callable[[Token], Mapping[str, Any]],
    ) -> Token:
        """Refresh the integration's token unless another worker already did; return the current one.

        Under the row lock: when ``is_fresh(current)`` the stored token is returned untouched;
        otherwise ``refresher(current)`` (the call to the token endpoint) returns the new token,
        which is saved and committed before this returns. If the refresher raises, nothing is
        saved and the lock is released.
        """
        key = _integration_id(integration_id)
        with self._connect() as conn:
            with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                cur.execute(query("token_lock_timeout"))
                row = cur.execute(query("token_lock"), {"integration_id": key}).fetchone()
                if row is None:
                    raise AuthError(f"No OAuth token stored for integration {key}: connect QuickBooks first")
                current = self._decrypt(key, row["ciphertext"])
                if is_fresh(current):
                    return current
                new = Token(refresher(current))
                if not new.get("access_token"):
                    raise AuthError(f"Token refresh for integration {key} returned no access token")
                # Some providers omit an unchanged refresh token from the answer; keep the old one.
                if not new.get("refresh_token") and current.get("refresh_token"):
                    new["refresh_token"] = current["refresh_token"]
                version = self._write(cur, key, new)
        log.info("Refreshed OAuth token for integration %s (version %s)", key, version)
        return new
