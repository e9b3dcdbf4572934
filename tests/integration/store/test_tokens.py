from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from qbo_crm_sync.errors import AuthError, ConfigurationError
from qbo_crm_sync.store import db
from qbo_crm_sync.store.tokens import Token, TokenStore

pytestmark = pytest.mark.integration

KEY = Fernet.generate_key().decode()


def make_token(access: str, refresh: str, expires_in: float) -> dict[str, Any]:
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": time.time() + expires_in,
        "x_refresh_token_expires_in": 8726400,
    }


@pytest.fixture
def store(db_url: str) -> TokenStore:
    return TokenStore(lambda: db.connect(db_url), KEY)


def test_round_trip_stores_only_ciphertext(store: TokenStore, db_url: str) -> None:
    token = make_token("access-AAAA-secret", "refresh-BBBB-secret", 3600)
    store.save("realm-1", token)
    assert store.load("realm-1") == token
    assert store.load("realm-2") is None
    with psycopg.connect(db_url) as conn:
        ciphertext, expires = conn.execute(
            "SELECT ciphertext, access_expires_at FROM sync.oauth_token WHERE realm_id = 'realm-1'"
        ).fetchone()
    assert b"access-AAAA-secret" not in bytes(ciphertext)
    assert b"refresh-BBBB-secret" not in bytes(ciphertext)
    assert expires is not None
    assert store.expiry("realm-1")["version"] == 1
    store.save("realm-1", token)
    assert store.expiry("realm-1")["version"] == 2
    store.delete("realm-1")
    assert store.load("realm-1") is None


def test_reprs_hide_secrets(store: TokenStore) -> None:
    store.save("realm-1", make_token("access-AAAA-secret", "refresh-BBBB-secret", 3600))
    loaded = store.load("realm-1")
    assert isinstance(loaded, Token)
    for text in (repr(loaded), str(loaded), f"{loaded}", repr(store), repr([loaded])):
        assert "secret" not in text
        assert KEY not in text


def test_wrong_key_is_a_configuration_error(store: TokenStore, db_url: str) -> None:
    store.save("realm-1", make_token("access-AAAA-secret", "refresh-BBBB-secret", 3600))
    other = TokenStore(lambda: db.connect(db_url), Fernet.generate_key().decode())
    with pytest.raises(
        ConfigurationError, match="SYNC_FERNET_KEY does not match the key the tokens were saved with"
    ):
        other.load("realm-1")
    with pytest.raises(ConfigurationError, match="not a valid Fernet key"):
        TokenStore(lambda: db.connect(db_url), "not-a-key")


def test_rotated_keys_still_decrypt(store: TokenStore, db_url: str) -> None:
    token = make_token("a", "r", 3600)
    store.save("realm-1", token)
    rotated = TokenStore(lambda: db.connect(db_url), f"{Fernet.generate_key().decode()},{KEY}")
    assert rotated.load("realm-1") == token


def is_fresh(token: dict[str, Any]) -> bool:
    return token["expires_at"] - time.time() > 60


def test_two_workers_refreshing_at_once_call_the_token_endpoint_once(store: TokenStore) -> None:
    store.save("realm-1", make_token("access-old", "refresh-1", -10))
    calls: list[str] = []
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def refresher(current: dict[str, Any]) -> dict[str, Any]:
        calls.append(current["refresh_token"])
        time.sleep(0.3)  # the HTTP call: the other worker must be waiting on the row lock now
        return make_token("access-new", "refresh-2", 3600)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(store.refresh("realm-1", is_fresh, refresher))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert calls == ["refresh-1"]
    assert [r["access_token"] for r in results] == ["access-new", "access-new"]
    assert results[0] == results[1]
    assert store.load("realm-1")["refresh_token"] == "refresh-2"


def test_a_failed_refresh_saves_nothing(store: TokenStore) -> None:
    token = make_token("access-old", "refresh-1", -10)
    store.save("realm-1", token)

    def refresher(current: dict[str, Any]) -> dict[str, Any]:
        raise AuthError("invalid_grant")

    with pytest.raises(AuthError):
        store.refresh("realm-1", is_fresh, refresher)
    assert store.load("realm-1") == token
    assert store.expiry("realm-1")["version"] == 1


def test_refresh_keeps_the_refresh_token_when_the_answer_omits_it(store: TokenStore) -> None:
    store.save("realm-1", make_token("access-old", "refresh-1", -10))
    new = store.refresh(
        "realm-1", is_fresh, lambda current: {"access_token": "access-new", "expires_in": 3600}
    )
    assert new["refresh_token"] == "refresh-1"
    assert store.load("realm-1") == new


def test_refresh_without_a_stored_token_needs_a_connect(store: TokenStore) -> None:
    with pytest.raises(AuthError, match="connect QuickBooks"):
        store.refresh("realm-x", is_fresh, lambda current: current)
